//! A program running in a tmux pane: typed into with `send-keys`, read back
//! with `capture-pane`, as a person would use it.

use std::process::Command;
use std::time::{Duration, Instant};

/// A tmux session on a private tmux server, killed on drop.
pub struct Screen {
    socket: String,
    name: String,
}

impl Screen {
    pub fn start(name: &str, command: &str) -> Self {
        let screen = Self {
            socket: format!("banter-test-{}-{name}", std::process::id()),
            name: name.to_owned(),
        };
        let status = screen
            .tmux()
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                "160",
                "-y",
                "40",
                command,
            ])
            .status()
            .expect("tmux is installed (./scripts/test installs it)");
        assert!(status.success());
        screen
    }

    fn tmux(&self) -> Command {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]);
        command
    }

    /// Types `text` and presses Enter.
    pub fn type_line(&self, text: &str) {
        let typed = self
            .tmux()
            .args(["send-keys", "-t", &self.name, "-l", text])
            .status()
            .unwrap();
        let enter = self
            .tmux()
            .args(["send-keys", "-t", &self.name, "Enter"])
            .status()
            .unwrap();
        assert!(typed.success() && enter.success());
    }

    pub fn capture(&self, with_escapes: bool) -> String {
        let mut command = self.tmux();
        command.args(["capture-pane", "-p", "-t", &self.name]);
        if with_escapes {
            command.arg("-e");
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    }

    /// Waits until the screen shows `text`; returns the screen.
    pub async fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.capture(false);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "screen never showed {text:?}:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self
            .tmux()
            .args(["kill-server"])
            .stderr(std::process::Stdio::null())
            .status();
    }
}
