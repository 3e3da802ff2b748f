//! The database of a real `banterd`, read as another program would.

use std::path::Path;
use std::time::Duration;

/// The lobby's stored message texts, oldest first.
pub fn lobby_texts(data_dir: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(data_dir.join("banter.db")).unwrap();
    db.busy_timeout(Duration::from_secs(1)).unwrap();
    let mut query = db
        .prepare("SELECT text FROM messages WHERE history = 'lobby' ORDER BY id")
        .unwrap();
    let texts = query
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    texts
}

/// Whether SQLite finds the database whole.
pub fn integrity(data_dir: &Path) -> String {
    let db = rusqlite::Connection::open(data_dir.join("banter.db")).unwrap();
    db.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap()
}
