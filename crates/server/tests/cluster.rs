//! Several banterd nodes as one chat (issue 20): three real `banterd`
//! processes joined through one real `nats-server` with JetStream, with
//! clients on every door of every node. Skipped, saying so, only where
//! `nats-server` is not installed.

mod support;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use support::cluster::{eventually, three_nodes, Nats, Node};
use support::http::get;
use support::irc::IrcClient;
use support::ws::WsClient;
use support::Client;

/// A member of the test room on one of the three doors.
enum Member {
    Text(Client),
    Ws(Box<WsClient>),
    Irc(IrcClient),
}

/// What a member saw of one room message.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// Someone else's message, with its id where the door shows it.
    Message(String, Option<i64>),
    /// The answer to one's own message: its id.
    Said(i64),
}

impl Member {
    async fn text(node: &Node, name: &str) -> Self {
        Self::Text(node.banterd.login(name).await)
    }

    async fn ws(node: &Node, name: &str, room: &str) -> Self {
        let mut ws = WsClient::login(node.http(), name).await;
        let (joined, _) = ws.ask(json!({"type": "join", "room": room}), 1).await;
        assert_eq!(joined["type"], "joined", "{joined}");
        Self::Ws(Box::new(ws))
    }

    async fn irc(node: &Node, name: &str, room: &str) -> Self {
        let mut irc = IrcClient::register(node.irc(), name).await;
        irc.send(&format!("JOIN #{room}")).await;
        irc.skip_to(" 366 ").await;
        Self::Irc(irc)
    }

    async fn say(&mut self, room: &str, text: &str) {
        match self {
            Self::Text(client) => client.send(text).await,
            Self::Ws(ws) => {
                ws.send(json!({"type": "say", "room": room, "text": text, "id": 2}))
                    .await
            }
            Self::Irc(irc) => irc.send(&format!("PRIVMSG #{room} :{text}")).await,
        }
    }

    /// The next room message (or own message's id), skipping other events.
    async fn next(&mut self) -> Seen {
        loop {
            match self {
                Self::Text(client) => {
                    let line = client.line().await;
                    if let Some(text) = line.split(' ').find(|word| word.starts_with("m-")) {
                        return Seen::Message(text.to_owned(), None);
                    }
                }
                Self::Ws(ws) => {
                    let frame = ws.recv().await;
                    match frame["type"].as_str() {
                        Some("message") => {
                            let text = frame["text"].as_str().unwrap().to_owned();
                            return Seen::Message(text, frame["id"].as_i64());
                        }
                        Some("said") => return Seen::Said(frame["message_id"].as_i64().unwrap()),
                        _ => {}
                    }
                }
                Self::Irc(irc) => {
                    let line = irc.line().await;
                    if line.contains(" PRIVMSG #") {
                        let text = line.rsplit_once(" :").unwrap().1;
                        return Seen::Message(text.to_owned(), None);
                    }
                }
            }
        }
    }

    async fn expect_silence(&mut self) {
        let wait = Duration::from_millis(300);
        match self {
            Self::Text(client) => client.expect_silence(wait).await,
            Self::Ws(ws) => ws.expect_silence(wait).await,
            Self::Irc(irc) => irc.expect_silence(wait).await,
        }
    }
}

/// Nine members of `lobby`, one per door per node, named by door and node.
async fn nine_members(nodes: &[Node]) -> Vec<(String, Member)> {
    let mut members = Vec::new();
    for node in nodes {
        let name = |door: &str| format!("{door}{}", node.name);
        members.push((name("t"), Member::text(node, &name("t")).await));
        members.push((name("w"), Member::ws(node, &name("w"), "lobby").await));
        members.push((name("i"), Member::irc(node, &name("i"), "lobby").await));
    }
    members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_message_reaches_every_member_on_every_node_once_in_one_order() {
    let Some(nats) = Nats::start() else { return };
    let nodes = three_nodes(&nats);
    let mut members = nine_members(&nodes).await;
    const EACH: usize = 8;
    // Everyone talks at once, interleaved across nodes and doors.
    for n in 0..EACH {
        for (name, member) in &mut members {
            member.say("lobby", &format!("m-{name}-{n}")).await;
        }
    }
    let total = EACH * members.len();
    // What each member saw, and the ids the JSON door shows.
    let mut ids: HashMap<String, i64> = HashMap::new();
    let mut seen: Vec<Vec<String>> = Vec::new();
    for (name, member) in &mut members {
        let mut texts = Vec::new();
        let mut said = Vec::new();
        while texts.len() < total - EACH || (matches!(member, Member::Ws(_)) && said.len() < EACH) {
            match member.next().await {
                Seen::Message(text, id) => {
                    assert!(
                        !text.starts_with(&format!("m-{name}-")),
                        "{name} got its own {text}"
                    );
                    if let Some(id) = id {
                        assert_eq!(
                            *ids.entry(text.clone()).or_insert(id),
                            id,
                            "{text}: one id everywhere"
                        );
                    }
                    texts.push(text);
                }
                Seen::Said(id) => said.push(id),
            }
        }
        member.expect_silence().await;
        // Per-sender order, and each message once.
        let unique: HashSet<&String> = texts.iter().collect();
        assert_eq!(unique.len(), texts.len(), "{name} saw a message twice");
        for sender in members_names() {
            let from: Vec<&String> = texts
                .iter()
                .filter(|t| t.starts_with(&format!("m-{sender}-")))
                .collect();
            let want: Vec<String> = (0..EACH).map(|n| format!("m-{sender}-{n}")).collect();
            if sender != *name {
                assert_eq!(
                    from,
                    want.iter().collect::<Vec<_>>(),
                    "{name} from {sender}"
                );
            }
        }
        if let Member::Ws(_) = member {
            // The `said` ids are the ids the others got.
            for (n, id) in said.iter().enumerate() {
                let text = format!("m-{name}-{n}");
                assert_eq!(*ids.entry(text).or_insert(*id), *id);
            }
        }
        seen.push(texts);
    }
    // One order: every member saw the room's messages in the order of their ids.
    let mut order: Vec<(i64, String)> = ids.iter().map(|(text, id)| (*id, text.clone())).collect();
    order.sort();
    assert_eq!(order.len(), total, "every message has an id");
    let order: Vec<String> = order.into_iter().map(|(_, text)| text).collect();
    for ((name, _), texts) in members.iter().zip(&seen) {
        let expected: Vec<&String> = order
            .iter()
            .filter(|t| !t.starts_with(&format!("m-{name}-")))
            .collect();
        assert_eq!(texts.iter().collect::<Vec<_>>(), expected, "{name}'s order");
    }
}

fn members_names() -> Vec<String> {
    ["a", "b", "c"]
        .iter()
        .flat_map(|node| ["t", "w", "i"].map(|door| format!("{door}{node}")))
        .collect()
}

/// The ids and texts of `room`'s history as the JSON door on `node` returns it.
async fn json_history(ws: &mut WsClient, room: &str) -> Vec<(i64, String)> {
    let (history, _) = ws
        .ask(json!({"type": "history", "room": room, "limit": 200}), 9)
        .await;
    assert_eq!(history["type"], "history", "{history}");
    history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m: &Value| {
            (
                m["id"].as_i64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn history_has_the_same_ids_in_the_same_order_on_every_node() {
    let Some(nats) = Nats::start() else { return };
    let nodes = three_nodes(&nats);
    let mut members = nine_members(&nodes).await;
    for n in 0..4 {
        for (name, member) in &mut members {
            member.say("lobby", &format!("m-{name}-{n}")).await;
        }
    }
    let total = 4 * members.len();
    let mut histories = Vec::new();
    for node in &nodes {
        let mut ws = WsClient::login(node.http(), &format!("h{}", node.name)).await;
        ws.ask(json!({"type": "join", "room": "lobby"}), 1).await;
        let mut history = Vec::new();
        let complete = eventually(Duration::from_secs(10), async || {
            history = json_history(&mut ws, "lobby").await;
            history.len() == total
        })
        .await;
        assert!(
            complete,
            "node {}: {} of {total} messages in history",
            node.name,
            history.len()
        );
        assert!(
            history.windows(2).all(|pair| pair[0].0 < pair[1].0),
            "ids increase"
        );
        histories.push(history);
    }
    assert_eq!(histories[0], histories[1], "a and b");
    assert_eq!(histories[0], histories[2], "a and c");
    let texts: Vec<String> = histories[0].iter().map(|(_, text)| text.clone()).collect();
    // The text door's `:history` and IRC's replay on joining show that order too.
    for node in &nodes {
        let mut text = node.banterd.login(&format!("x{}", node.name)).await;
        // Past the newest messages shown on entering.
        text.lines_until_quiet(Duration::from_millis(300)).await;
        text.send(":history 200").await;
        let mut shown = Vec::new();
        while shown.len() < total {
            let line = text.line().await;
            if let Some(word) = line.split(' ').find(|word| word.starts_with("m-")) {
                shown.push(word.to_owned());
            }
        }
        assert_eq!(shown, texts, "text door on {}", node.name);
    }
    for node in &nodes {
        // Replay needs `server-time`, so the times show.
        let mut irc =
            IrcClient::register_with(node.irc(), &format!("y{}", node.name), "server-time").await;
        irc.send("JOIN #lobby").await;
        let replayed: Vec<String> = irc
            .lines_to(" 366 ")
            .await
            .into_iter()
            .chain(futures_lines(&mut irc).await)
            .filter(|line| line.contains(" PRIVMSG #lobby :m-"))
            .map(|line| line.split_once(' ').unwrap().1.to_owned())
            .map(|line| line.rsplit_once(" :").unwrap().1.to_owned())
            .collect();
        assert!(
            !replayed.is_empty(),
            "IRC replays the newest messages on {}",
            node.name
        );
        assert_eq!(
            replayed[..],
            texts[texts.len() - replayed.len()..],
            "IRC on {}",
            node.name
        );
    }
}

/// The lines that follow until the server is quiet.
async fn futures_lines(irc: &mut IrcClient) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = tokio::time::timeout(Duration::from_millis(300), irc.line()).await {
        lines.push(line);
    }
    lines
}

/// Tries to take `name` on the text door of `node`: the client if it got it.
async fn claim_text(node: std::net::SocketAddr, name: String) -> Option<Client> {
    let mut client = Client::connect(node).await;
    client.skip_greeting().await;
    client.send(&name).await;
    let answer = client.line().await;
    if answer.starts_with("hello ") {
        return Some(client);
    }
    assert!(answer.contains("is taken"), "{answer}");
    None
}

/// Tries to take `name` on the JSON door of `node`.
async fn claim_ws(node: std::net::SocketAddr, name: String) -> Option<WsClient> {
    let mut ws = WsClient::connect(node).await;
    ws.send(json!({"type": "hello", "name": name, "id": 0}))
        .await;
    let answer = ws.recv().await;
    if answer["type"] == "welcome" {
        return Some(ws);
    }
    assert_eq!(answer["code"], "name_taken", "{answer}");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_300_clients_on_three_nodes_claiming_50_names_exactly_one_gets_each() {
    let Some(nats) = Nats::start() else { return };
    let nodes = three_nodes(&nats);
    // 100 clients a node, half on the text door and half on the JSON door;
    // each name is wanted by six clients, two on each node.
    let mut claims = tokio::task::JoinSet::new();
    for node in &nodes {
        for n in 0..100 {
            let name = format!("n{}", n % 50);
            if n % 2 == 0 {
                let addr = node.text();
                claims.spawn(async move {
                    (name.clone(), claim_text(addr, name).await.map(Member::Text))
                });
            } else {
                let addr = node.http();
                claims.spawn(async move {
                    (
                        name.clone(),
                        claim_ws(addr, name)
                            .await
                            .map(|ws| Member::Ws(Box::new(ws))),
                    )
                });
            }
        }
    }
    let mut winners: HashMap<String, Vec<Member>> = HashMap::new();
    while let Some(claim) = claims.join_next().await {
        let (name, member) = claim.unwrap();
        let holders = winners.entry(name).or_default();
        holders.extend(member);
    }
    assert_eq!(winners.len(), 50);
    for (name, holders) in &winners {
        assert_eq!(holders.len(), 1, "{name} has {} holders", holders.len());
    }
    // The 50 holders rename at once to 10 names: one winner each.
    let mut renames = tokio::task::JoinSet::new();
    for (n, (_, mut holders)) in winners.into_iter().enumerate() {
        let mut member = holders.pop().unwrap();
        let new = format!("r{}", n % 10);
        renames.spawn(async move {
            let got = match &mut member {
                Member::Text(client) => {
                    client.send(&format!(":nick {new}")).await;
                    loop {
                        let answer = client.line().await;
                        if answer.starts_with("you are now known as") {
                            break true;
                        }
                        if answer.starts_with("error:") {
                            assert!(answer.contains("taken"), "{answer}");
                            break false;
                        }
                    }
                }
                Member::Ws(ws) => {
                    let (answer, _) = ws.ask(json!({"type": "nick", "name": new}), 5).await;
                    answer["type"] == "nick_set"
                }
                Member::Irc(_) => unreachable!("no IRC claimants"),
            };
            (new, got, member)
        });
    }
    let mut renamed: HashMap<String, usize> = HashMap::new();
    let mut keep = Vec::new();
    while let Some(rename) = renames.join_next().await {
        let (new, got, member) = rename.unwrap();
        *renamed.entry(new).or_default() += usize::from(got);
        keep.push(member);
    }
    assert_eq!(renamed.len(), 10);
    for (name, holders) in &renamed {
        assert_eq!(*holders, 1, "{name} was renamed to by {holders}");
    }
    // Every node lists the same 50 names.
    let mut lists = Vec::new();
    for node in &nodes {
        let mut ws = WsClient::login(node.http(), &format!("q{}", node.name)).await;
        let mut users = Vec::new();
        let agreed = eventually(Duration::from_secs(5), async || {
            let (answer, _) = ws.ask(json!({"type": "users"}), 6).await;
            users = answer["names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|user| user.as_str().unwrap().to_owned())
                .filter(|user| !user.starts_with('q'))
                .collect::<Vec<String>>();
            users.len() == 50
        })
        .await;
        assert!(agreed, "node {}: {users:?}", node.name);
        lists.push(users);
    }
    assert_eq!(lists[0], lists[1]);
    assert_eq!(lists[0], lists[2]);
    drop(keep);
}

/// Reads `ws`'s frames up to one of `kind` about `room`; returns it.
async fn until_in(ws: &mut WsClient, kind: &str, room: &str) -> Value {
    loop {
        let frame = ws.recv().await;
        if frame["type"] == kind && frame["room"] == room {
            return frame;
        }
    }
}

/// Asks `ws`'s node for its room list until it shows `room` locked.
async fn until_listed_locked(ws: &mut WsClient, room: &str) {
    loop {
        let (rooms, _) = ws.ask(json!({"type": "rooms"}), 50).await;
        let rooms = rooms["rooms"]
            .as_array()
            .unwrap_or_else(|| panic!("{rooms}"));
        if rooms
            .iter()
            .any(|listed| listed["name"] == room && listed["locked"] == true)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The members of `room` as `ws`'s node sees them: (name, host).
async fn who(ws: &mut WsClient, room: &str) -> Vec<(String, bool)> {
    let (answer, _) = ws.ask(json!({"type": "who", "room": room}), 30).await;
    answer["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["host"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_on_one_node_rules_members_on_the_others() {
    let Some(nats) = Nats::start() else { return };
    let nodes = three_nodes(&nats);
    let mut host = WsClient::login(nodes[0].http(), "hana").await;
    let (created, _) = host.ask(json!({"type": "create", "room": "den"}), 1).await;
    assert_eq!(
        (created["type"].as_str(), created["host"].as_bool()),
        (Some("joined"), Some(true)),
        "{created}"
    );
    let mut bea = WsClient::login(nodes[1].http(), "bea").await;
    let (joined, _) = bea.ask(json!({"type": "join", "room": "den"}), 1).await;
    assert_eq!(joined["host"], false, "{joined}");
    let mut cal = WsClient::login(nodes[2].http(), "cal").await;
    cal.ask(json!({"type": "join", "room": "den"}), 1).await;
    // Bea on b is no host: refused there, as the log is applied.
    let (refused, _) = bea
        .ask(json!({"type": "topic", "room": "den", "topic": "mine"}), 2)
        .await;
    assert_eq!(refused["code"], "not_host", "{refused}");
    // Topic, hosts: set on a, seen on b and c.
    host.ask(
        json!({"type": "topic", "room": "den", "topic": "go at nine"}),
        2,
    )
    .await;
    for ws in [&mut bea, &mut cal] {
        let changed = until_in(ws, "topic_changed", "den").await;
        assert_eq!(
            (changed["by"].as_str(), changed["topic"].as_str()),
            (Some("hana"), Some("go at nine"))
        );
    }
    let (ok, _) = host
        .ask(json!({"type": "host_add", "room": "den", "name": "bea"}), 3)
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let added = until_in(&mut cal, "host_added", "den").await;
    assert_eq!(
        (added["name"].as_str(), added["by"].as_str()),
        (Some("bea"), Some("hana"))
    );
    // Now a host on b, bea may set the topic, once b has applied it (it told
    // bea): b applies the log on its own time, and a's answer or c's event
    // says nothing of b.
    let added = until_in(&mut bea, "host_added", "den").await;
    assert_eq!(added["name"], "bea");
    let (ok, _) = bea
        .ask(json!({"type": "topic", "room": "den", "topic": "chess"}), 4)
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    host.ask(
        json!({"type": "host_remove", "room": "den", "name": "bea"}),
        4,
    )
    .await;
    let removed = until_in(&mut bea, "host_removed", "den").await;
    assert_eq!(removed["name"], "bea");
    // Cal's node applies the log on its own time: ask it once it has told cal.
    let removed = until_in(&mut cal, "host_removed", "den").await;
    assert_eq!(removed["name"], "bea");
    assert_eq!(
        who(&mut cal, "den").await,
        [
            ("hana".into(), true),
            ("bea".into(), false),
            ("cal".into(), false)
        ]
    );

    // A kick from a of a member on c.
    let (ok, _) = host
        .ask(
            json!({"type": "kick", "room": "den", "name": "cal", "reason": "spam"}),
            5,
        )
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let kicked = until_in(&mut cal, "kicked", "den").await;
    assert_eq!(
        (kicked["by"].as_str(), kicked["message"].as_str()),
        (Some("hana"), Some("spam"))
    );
    let left = until_in(&mut bea, "member_left", "den").await;
    assert_eq!(
        (left["name"].as_str(), left["reason"].as_str()),
        (Some("cal"), Some("kicked"))
    );
    assert_eq!(
        who(&mut bea, "den").await,
        [("hana".into(), true), ("bea".into(), false)]
    );
    let (said, _) = cal
        .ask(
            json!({"type": "say", "room": "den", "text": "still here?"}),
            6,
        )
        .await;
    assert_eq!(said["code"], "not_member", "{said}");

    // A password set on a: needed on c, and right from b and c.
    let (ok, _) = host
        .ask(
            json!({"type": "set_password", "room": "den", "password": "rook takes"}),
            7,
        )
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    let locked = until_in(&mut bea, "lock_changed", "den").await;
    assert_eq!(locked["locked"], true);
    // Cal's node applies the log on its own time, and cal (kicked) hears
    // nothing of den: ask once c lists the room as locked. Asked earlier, c
    // checks the join against the room as it was and lets cal in.
    until_listed_locked(&mut cal, "den").await;
    let (refused, _) = cal.ask(json!({"type": "join", "room": "den"}), 8).await;
    assert_eq!(refused["code"], "password_needed", "{refused}");
    let (refused, _) = cal
        .ask(
            json!({"type": "join", "room": "den", "password": "rook"}),
            9,
        )
        .await;
    assert_eq!(refused["code"], "wrong_password", "{refused}");
    let (joined, _) = cal
        .ask(
            json!({"type": "join", "room": "den", "password": "rook takes"}),
            10,
        )
        .await;
    assert_eq!(
        (joined["type"].as_str(), joined["locked"].as_bool()),
        (Some("joined"), Some(true)),
        "{joined}"
    );
    let mut dee = WsClient::login(nodes[1].http(), "dee").await;
    let (joined, _) = dee
        .ask(
            json!({"type": "join", "room": "den", "password": "rook takes"}),
            1,
        )
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    // Lockouts stay per connection: cal's wrong guess cost dee nothing, and
    // three wrong guesses lock out only the connection that made them.
    let mut eve = WsClient::login(nodes[2].http(), "eve").await;
    for id in 1..=3 {
        let (refused, _) = eve
            .ask(
                json!({"type": "join", "room": "den", "password": "pawn"}),
                id,
            )
            .await;
        assert_eq!(refused["code"], "wrong_password", "{refused}");
    }
    let (refused, _) = eve
        .ask(
            json!({"type": "join", "room": "den", "password": "rook takes"}),
            4,
        )
        .await;
    assert_eq!(refused["code"], "locked_out", "{refused}");
    let mut fay = WsClient::login(nodes[2].http(), "fay").await;
    let (joined, _) = fay
        .ask(
            json!({"type": "join", "room": "den", "password": "rook takes"}),
            1,
        )
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    // Fay's node answered her join when it applied it; the host's node
    // applies the log on its own time: ask it once it has told the host.
    while until_in(&mut host, "member_joined", "den").await["name"] != "fay" {}
    assert_eq!(
        who(&mut host, "den").await,
        [
            ("hana".into(), true),
            ("bea".into(), false),
            ("cal".into(), false),
            ("dee".into(), false),
            ("fay".into(), false)
        ]
    );
}

/// The members of `room` as `ws`'s node sees them: (name, host, voice).
async fn who_voiced(ws: &mut WsClient, room: &str) -> Vec<(String, bool, bool)> {
    let (answer, _) = ws.ask(json!({"type": "who", "room": room}), 40).await;
    answer["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{answer}"))
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["host"].as_bool().unwrap(),
                m["voice"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// Reads `ws`'s frames up to `member_joined` of `name` in `room`.
async fn until_joined(ws: &mut WsClient, room: &str, name: &str) {
    while until_in(ws, "member_joined", room).await["name"] != name {}
}

/// Reads `ws`'s frames up to a `modes_changed` in `room` that changes `mode`.
async fn until_mode(ws: &mut WsClient, room: &str, mode: &str) {
    loop {
        let changed = until_in(ws, "modes_changed", room).await;
        let changes = changed["changes"].as_array().expect("a list of changes");
        if changes.iter().any(|change| change["mode"] == mode) {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn modes_voices_bans_and_invitations_set_on_one_node_hold_on_every_node() {
    let Some(nats) = Nats::start() else { return };
    let nodes = three_nodes(&nats);
    let mut hana = WsClient::login(nodes[0].http(), "hana").await;
    let (created, _) = hana.ask(json!({"type": "create", "room": "den"}), 1).await;
    assert_eq!(created["host"], true, "{created}");
    let mut bea = WsClient::login(nodes[1].http(), "bea").await;
    bea.ask(json!({"type": "join", "room": "den"}), 1).await;
    let mut cy = WsClient::login(nodes[2].http(), "cy").await;
    cy.ask(json!({"type": "join", "room": "den"}), 1).await;
    let mut ian = IrcClient::register(nodes[2].irc(), "ian").await;
    ian.send("JOIN #den").await;
    ian.skip_to(" 366 ").await;
    let mut troll = nodes[1].banterd.login("trollop").await;
    troll.send(":cr den").await;
    for name in ["bea", "cy", "ian", "trollop"] {
        until_joined(&mut hana, "den", name).await;
    }

    // +m set on a: a member on b without a voice may not speak, as b has it.
    let (ok, _) = hana
        .ask(
            json!({"type": "set_mode", "room": "den", "mode": "moderated", "on": true}),
            2,
        )
        .await;
    assert_eq!(ok["type"], "ok", "{ok}");
    ian.skip_to(":hana!hana@banter MODE #den +m").await;
    until_mode(&mut bea, "den", "moderated").await;
    let (refused, _) = bea
        .ask(json!({"type": "say", "room": "den", "text": "hello?"}), 2)
        .await;
    assert_eq!(refused["code"], "moderated", "{refused}");

    // A host on IRC on c voices bea on b; her line then reaches c.
    hana.ask(json!({"type": "host_add", "room": "den", "name": "ian"}), 3)
        .await;
    ian.skip_to(" MODE #den +o ian").await;
    ian.send("MODE #den +v bea").await;
    ian.skip_to(":ian!ian@banter MODE #den +v bea").await;
    let voiced = until_in(&mut bea, "voice_changed", "den").await;
    assert_eq!(
        (
            voiced["name"].as_str(),
            voiced["by"].as_str(),
            voiced["on"].as_bool()
        ),
        (Some("bea"), Some("ian"), Some(true))
    );
    let (said, _) = bea
        .ask(
            json!({"type": "say", "room": "den", "text": "now I may"}),
            3,
        )
        .await;
    assert_eq!(said["type"], "said", "{said}");
    ian.skip_to(":bea!bea@banter PRIVMSG #den :now I may").await;

    // The IRC host on c bans a pattern: the text member on b it matches is
    // removed on every node and cannot come back.
    ian.send("MODE #den +b troll*").await;
    ian.skip_to(":ian!ian@banter MODE #den +b troll*").await;
    troll
        .expect_containing("you were kicked from den by ian: banned (troll*)")
        .await;
    for ws in [&mut hana, &mut bea, &mut cy] {
        let left = until_in(ws, "member_left", "den").await;
        assert_eq!(
            (left["name"].as_str(), left["reason"].as_str()),
            (Some("trollop"), Some("kicked")),
            "{left}"
        );
    }
    troll.send(":cr den").await;
    troll.expect_containing("banned").await;
    let expected = vec![
        ("hana".to_owned(), true, false),
        ("bea".to_owned(), false, true),
        ("cy".to_owned(), false, false),
        ("ian".to_owned(), true, false),
    ];
    for ws in [&mut hana, &mut bea, &mut cy] {
        assert_eq!(who_voiced(ws, "den").await, expected);
    }

    // +i set on a: ivy on c is refused until invited from a.
    hana.ask(
        json!({"type": "set_mode", "room": "den", "mode": "invite_only", "on": true}),
        4,
    )
    .await;
    until_mode(&mut cy, "den", "invite_only").await;
    let mut ivy = WsClient::login(nodes[2].http(), "ivy").await;
    let (refused, _) = ivy.ask(json!({"type": "join", "room": "den"}), 1).await;
    assert_eq!(refused["code"], "invite_only", "{refused}");
    let (sent, _) = hana
        .ask(json!({"type": "invite", "room": "den", "name": "ivy"}), 5)
        .await;
    assert_eq!(sent["type"], "invite_sent", "{sent}");
    let invited = ivy.until("invited").await;
    assert_eq!(invited["by"], "hana", "{invited}");
    let (joined, _) = ivy.ask(json!({"type": "join", "room": "den"}), 2).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    for ws in [&mut hana, &mut bea] {
        until_joined(ws, "den", "ivy").await;
    }

    // +s set on a: listed on b only to a member.
    hana.ask(
        json!({"type": "set_mode", "room": "den", "mode": "secret", "on": true}),
        6,
    )
    .await;
    until_mode(&mut bea, "den", "secret").await;
    let listed = |rooms: &Value| {
        rooms["rooms"]
            .as_array()
            .unwrap_or_else(|| panic!("{rooms}"))
            .iter()
            .any(|room| room["name"] == "den")
    };
    let mut sam = WsClient::login(nodes[1].http(), "sam").await;
    let (rooms, _) = sam.ask(json!({"type": "rooms"}), 1).await;
    assert!(!listed(&rooms), "{rooms}");
    let (rooms, _) = bea.ask(json!({"type": "rooms"}), 7).await;
    assert!(listed(&rooms), "{rooms}");

    // Every node answers the same modes, members and bans (dated alike).
    until_mode(&mut cy, "den", "secret").await;
    hana.ask(json!({"type": "host_add", "room": "den", "name": "cy"}), 8)
        .await;
    for ws in [&mut bea, &mut cy] {
        while until_in(ws, "host_added", "den").await["name"] != "cy" {}
    }
    let mut answers = Vec::new();
    for ws in [&mut hana, &mut bea, &mut cy] {
        let (modes, _) = ws.ask(json!({"type": "modes", "room": "den"}), 50).await;
        answers.push((modes["modes"].clone(), who_voiced(ws, "den").await));
    }
    assert_eq!(
        answers[0].0,
        json!([
            "invite_only",
            "moderated",
            "no_external",
            "secret",
            "topic_lock"
        ])
    );
    assert!(
        answers.iter().all(|answer| *answer == answers[0]),
        "{answers:?}"
    );
    // One IRC MODE of several modes, by the host on c, is one op: every
    // node applies it and tells its members once, of both changes.
    ian.send("MODE #den -st").await;
    ian.skip_to(":ian!ian@banter MODE #den -st").await;
    ian.send("MODE #den +st").await;
    ian.skip_to(":ian!ian@banter MODE #den +st").await;
    for ws in [&mut hana, &mut bea, &mut cy] {
        for on in [false, true] {
            let changed = loop {
                let changed = until_in(ws, "modes_changed", "den").await;
                if changed["by"] == "ian" {
                    break changed;
                }
            };
            assert_eq!(
                changed["changes"],
                json!([{"mode": "secret", "on": on}, {"mode": "topic_lock", "on": on}])
            );
        }
    }
    let (modes, _) = bea.ask(json!({"type": "modes", "room": "den"}), 51).await;
    assert_eq!(modes["modes"], answers[0].0, "{modes}");
    let (on_a, _) = hana.ask(json!({"type": "bans", "room": "den"}), 9).await;
    let (on_c, _) = cy.ask(json!({"type": "bans", "room": "den"}), 9).await;
    assert_eq!(on_a["bans"][0]["mask"], "troll*", "{on_a}");
    assert_eq!(on_a["bans"], on_c["bans"]);

    // Node b restarted on its own data: its replica, replayed from the log,
    // keeps the ban and the modes.
    let mut nodes = nodes;
    let b = nodes.remove(1);
    let data = b.kill();
    let b = Node::start_in(&nats, "b", data);
    let mut trolly = WsClient::login(b.http(), "trolly").await;
    let (refused, _) = trolly.ask(json!({"type": "join", "room": "den"}), 1).await;
    assert_eq!(refused["code"], "banned", "{refused}");
    let mut zed = WsClient::login(b.http(), "zed").await;
    let seen = eventually(Duration::from_secs(5), async || {
        // A's copy of the names learns of zed on its own time.
        let (sent, _) = hana
            .ask(json!({"type": "invite", "room": "den", "name": "zed"}), 10)
            .await;
        sent["type"] == "invite_sent"
    })
    .await;
    assert!(seen, "a learns of zed on the restarted b");
    zed.until("invited").await;
    let (joined, _) = zed.ask(json!({"type": "join", "room": "den"}), 2).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    let (modes, _) = zed.ask(json!({"type": "modes", "room": "den"}), 3).await;
    assert_eq!(modes["modes"], answers[0].0, "{modes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_s_users_leave_once_everywhere_and_its_names_come_free() {
    let Some(nats) = Nats::start() else { return };
    let mut nodes = three_nodes(&nats);
    let mut cid = WsClient::login(nodes[2].http(), "cid").await;
    cid.ask(json!({"type": "create", "room": "den"}), 1).await;
    let mut ann = WsClient::login(nodes[0].http(), "ann").await;
    ann.ask(json!({"type": "join", "room": "den"}), 1).await;
    let mut bob = WsClient::login(nodes[1].http(), "bob").await;
    bob.ask(json!({"type": "join", "room": "den"}), 1).await;
    let mut cy = WsClient::login(nodes[2].http(), "cy").await;
    cy.ask(json!({"type": "join", "room": "den"}), 1).await;
    assert_eq!(
        until_in(&mut ann, "member_joined", "den").await["name"],
        "bob"
    );
    assert_eq!(
        until_in(&mut ann, "member_joined", "den").await["name"],
        "cy"
    );
    assert_eq!(
        until_in(&mut bob, "member_joined", "den").await["name"],
        "cy"
    );
    let old = nodes[2].incarnation();

    let c = nodes.pop().unwrap();
    let killed = std::time::Instant::now();
    let data = c.kill();
    drop((cid, cy));
    for ws in [&mut ann, &mut bob] {
        let mut left = Vec::new();
        let mut promoted = None;
        while left.len() < 2 || promoted.is_none() {
            let frame = ws.recv().await;
            match frame["type"].as_str() {
                Some("member_left") => {
                    assert_eq!(frame["reason"], "disconnected", "{frame}");
                    left.push(frame["name"].as_str().unwrap().to_owned());
                }
                Some("host_added") => promoted = Some(frame),
                _ => {}
            }
        }
        left.sort();
        assert_eq!(left, ["cid", "cy"]);
        let promoted = promoted.unwrap();
        assert_eq!(
            (promoted["name"].as_str(), promoted["by"].as_str()),
            (Some("ann"), None)
        );
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "{:?}",
            killed.elapsed()
        );
        // Once: nothing more about them.
        ws.expect_silence(Duration::from_millis(500)).await;
    }
    let survivors = [("ann".into(), true), ("bob".into(), false)];
    assert_eq!(who(&mut ann, "den").await, survivors);
    assert_eq!(who(&mut bob, "den").await, survivors);
    // Their names are free again, on either survivor.
    let mut taken = None;
    let free = eventually(Duration::from_secs(5), async || {
        taken = claim_ws(nodes[0].http(), "cid".into()).await;
        taken.is_some()
    })
    .await;
    assert!(free, "cid's name is free again");
    assert!(claim_ws(nodes[1].http(), "cy".into()).await.is_some());

    // Back with a new incarnation and none of its old sessions.
    let c = Node::start_in(&nats, "c", data);
    assert_ne!(c.incarnation(), old);
    let mut dot = WsClient::login(c.http(), "dot").await;
    assert_eq!(who(&mut dot, "den").await, survivors);
}

/// Says `text` in `room`: the id, or the refusal's code and message.
async fn say(ws: &mut WsClient, room: &str, text: &str, id: u64) -> Result<i64, (String, String)> {
    let (answer, _) = ws
        .ask(json!({"type": "say", "room": room, "text": text}), id)
        .await;
    match answer["type"].as_str() {
        Some("said") => Ok(answer["message_id"].as_i64().unwrap()),
        _ => Err((
            answer["code"].as_str().unwrap_or_default().to_owned(),
            answer["message"].to_string(),
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn while_the_broker_is_down_messages_are_refused_and_none_acknowledged_is_lost() {
    let Some(mut nats) = Nats::start() else {
        return;
    };
    let nodes = three_nodes(&nats);
    let mut senders = Vec::new();
    let mut listeners = Vec::new();
    for node in &nodes {
        senders.push(Member::ws(node, &format!("s{}", node.name), "lobby").await);
        listeners.push(Member::ws(node, &format!("l{}", node.name), "lobby").await);
    }
    let mut senders: Vec<WsClient> = senders
        .into_iter()
        .map(|member| match member {
            Member::Ws(ws) => *ws,
            _ => unreachable!(),
        })
        .collect();
    let mut acknowledged: Vec<(i64, String)> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut id = 100;
    for n in 0..5 {
        for (s, ws) in senders.iter_mut().enumerate() {
            let text = format!("m-s{s}-before-{n}");
            id += 1;
            acknowledged.push((
                say(ws, "lobby", &text, id).await.expect("the broker is up"),
                text,
            ));
        }
    }
    nats.kill();
    for (s, ws) in senders.iter_mut().enumerate() {
        let text = format!("m-s{s}-down");
        id += 1;
        let asked = std::time::Instant::now();
        let (code, message) = say(ws, "lobby", &text, id)
            .await
            .expect_err("the broker is down");
        assert!(
            asked.elapsed() < Duration::from_millis(3500),
            "{:?}",
            asked.elapsed()
        );
        assert_eq!(code, "not_saved");
        assert!(message.contains("unreachable"), "{message}");
        refused.push(text);
    }
    nats.restart();
    for (s, ws) in senders.iter_mut().enumerate() {
        let mut n = 0;
        let back = eventually(Duration::from_secs(20), async || {
            n += 1;
            id += 1;
            let text = format!("m-s{s}-after-{n}");
            match say(ws, "lobby", &text, id).await {
                Ok(message_id) => {
                    acknowledged.push((message_id, text));
                    true
                }
                Err(_) => {
                    refused.push(text);
                    false
                }
            }
        })
        .await;
        assert!(back, "sender {s} can talk again");
    }
    // Ids keep increasing across the restart.
    let mut by_id = acknowledged.clone();
    by_id.sort();
    for s in 0..senders.len() {
        let prefix = format!("m-s{s}-");
        let ids: Vec<i64> = acknowledged
            .iter()
            .filter(|(_, t)| t.starts_with(&prefix))
            .map(|(id, _)| *id)
            .collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "sender {s}: {ids:?}"
        );
    }
    // Every acknowledged message reached every listener once, in id order,
    // and no refused one did.
    for (l, listener) in listeners.iter_mut().enumerate() {
        let mut got = Vec::new();
        while got.len() < by_id.len() {
            match listener.next().await {
                Seen::Message(text, Some(id)) => {
                    assert!(!refused.contains(&text), "listener {l} got refused {text}");
                    got.push((id, text));
                }
                other => panic!("listener {l}: {other:?}"),
            }
        }
        assert_eq!(got, by_id, "listener {l}");
        listener.expect_silence().await;
    }
    // And every node's history has them all, and nothing refused.
    for node in &nodes {
        let mut ws = WsClient::login(node.http(), &format!("h{}", node.name)).await;
        ws.ask(json!({"type": "join", "room": "lobby"}), 1).await;
        let mut history = Vec::new();
        let complete = eventually(Duration::from_secs(10), async || {
            history = json_history(&mut ws, "lobby").await;
            history.len() >= by_id.len()
        })
        .await;
        assert!(complete, "node {}", node.name);
        assert_eq!(history, by_id, "node {}", node.name);
    }
}

/// All of `room`'s history as the JSON door of `ws`'s node keeps it, paged
/// back 200 at a time, oldest first.
async fn full_history(ws: &mut WsClient, room: &str) -> Vec<(i64, String)> {
    let mut all: Vec<(i64, String)> = Vec::new();
    loop {
        let mut request = json!({"type": "history", "room": room, "limit": 200});
        if let Some((oldest, _)) = all.first() {
            request["before"] = json!(oldest);
        }
        let (page, _) = ws.ask(request, 9).await;
        assert_eq!(page["type"], "history", "{page}");
        let page: Vec<(i64, String)> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m["id"].as_i64().unwrap(),
                    m["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let short = page.len() < 200;
        all.splice(0..0, page);
        if short {
            return all;
        }
    }
}

/// What a sender under load reports as it goes.
enum Sent {
    Acked { id: i64, text: String, at: Instant },
    Refused(String),
}

/// How often each sender under load says something (well inside the test
/// nodes' flood allowance over the test's few seconds).
const LOAD_PACE: Duration = Duration::from_millis(50);

/// Says a line every [`LOAD_PACE`] (each awaiting its answer) until `stop`.
async fn send_continuously(
    mut ws: WsClient,
    s: usize,
    stop: tokio::sync::watch::Receiver<bool>,
    sent: tokio::sync::mpsc::UnboundedSender<Sent>,
) {
    let mut n = 0;
    while !*stop.borrow() {
        n += 1;
        let text = format!("m-s{s}-{n}");
        let asked = Instant::now();
        match say(&mut ws, "lobby", &text, n).await {
            Ok(id) => {
                let at = Instant::now();
                let _ = sent.send(Sent::Acked { id, text, at });
            }
            Err((code, message)) => {
                // Refused within about 3 s, saying why; never left hanging.
                assert!(asked.elapsed() < Duration::from_millis(3500));
                assert_eq!(code, "not_saved", "{message}");
                assert!(message.contains("unreachable"), "{message}");
                let _ = sent.send(Sent::Refused(text));
            }
        }
        tokio::time::sleep(LOAD_PACE).await;
    }
}

/// Reads room messages (id, text, arrival) until `total` tells how many to
/// expect and that many arrived.
async fn listen_continuously(
    mut ws: WsClient,
    mut total: tokio::sync::watch::Receiver<Option<usize>>,
) -> Vec<(i64, String, Instant)> {
    let mut got = Vec::new();
    loop {
        if total.borrow().is_some_and(|total| got.len() >= total) {
            return got;
        }
        tokio::select! {
            frame = ws.try_recv(Duration::from_secs(20)) => {
                let frame = frame.expect("the listener stays connected");
                if frame["type"] == "message" {
                    let text = frame["text"].as_str().unwrap().to_owned();
                    got.push((frame["id"].as_i64().unwrap(), text, Instant::now()));
                }
            }
            _ = total.changed() => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_broker_restarted_under_continuous_load_loses_and_repeats_nothing() {
    let Some(mut nats) = Nats::start() else {
        return;
    };
    let nodes = three_nodes(&nats);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let (total_tx, total) = tokio::sync::watch::channel(None);
    let (sent_tx, mut sent) = tokio::sync::mpsc::unbounded_channel();
    let mut listeners = Vec::new();
    for node in &nodes {
        let Member::Ws(ws) = Member::ws(node, &format!("l{}", node.name), "lobby").await else {
            unreachable!()
        };
        listeners.push(tokio::spawn(listen_continuously(*ws, total.clone())));
    }
    let mut senders = Vec::new();
    for (s, node) in nodes.iter().enumerate() {
        let Member::Ws(ws) = Member::ws(node, &format!("s{}", node.name), "lobby").await else {
            unreachable!()
        };
        let task = send_continuously(*ws, s, stop.clone(), sent_tx.clone());
        senders.push(tokio::spawn(task));
    }
    drop(sent_tx);

    tokio::time::sleep(Duration::from_secs(1)).await;
    nats.kill();
    // Down long enough for every sender to be refused at least once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    nats.restart();
    let back = Instant::now();
    let mut acked: Vec<(i64, String, Instant)> = Vec::new();
    let mut refused: Vec<String> = Vec::new();
    let mut record = |report: Sent| match report {
        Sent::Acked { id, text, at } => acked.push((id, text, at)),
        Sent::Refused(text) => refused.push(text),
    };
    // Until every sender has been acknowledged again, then a second more.
    let recovered = tokio::time::timeout(Duration::from_secs(20), async {
        let mut again = HashSet::new();
        while again.len() < nodes.len() {
            let report = sent.recv().await.expect("the senders go on");
            if let Sent::Acked { text, at, .. } = &report {
                if *at > back {
                    again.insert(text.split('-').nth(1).unwrap().to_owned());
                }
            }
            record(report);
        }
    })
    .await;
    assert!(recovered.is_ok(), "every sender is acknowledged again");
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop_tx.send_replace(true);
    for sender in senders {
        sender.await.unwrap();
    }
    while let Some(report) = sent.recv().await {
        record(report);
    }
    assert!(
        refused.len() >= nodes.len(),
        "each sender was refused: {refused:?}"
    );

    // Ids increase for each sender, across the restart.
    for s in 0..nodes.len() {
        let prefix = format!("m-s{s}-");
        let ids: Vec<i64> = acked
            .iter()
            .filter(|(_, text, _)| text.starts_with(&prefix))
            .map(|(id, _, _)| *id)
            .collect();
        assert!(
            ids.windows(2).all(|pair| pair[0] < pair[1]),
            "sender {s}: {ids:?}"
        );
    }
    let mut by_id: Vec<(i64, String)> = acked
        .iter()
        .map(|(id, text, _)| (*id, text.clone()))
        .collect();
    by_id.sort();

    // Every acknowledged message reached every node's listener exactly once,
    // in id order; no refused one did.
    total_tx.send_replace(Some(by_id.len()));
    let acked_at: HashMap<i64, Instant> = acked.iter().map(|(id, _, at)| (*id, *at)).collect();
    let first_back = acked
        .iter()
        .filter(|(_, _, at)| *at > back)
        .map(|(_, _, at)| *at - back)
        .min()
        .unwrap();
    let mut fills = Vec::new();
    for (node, listener) in nodes.iter().zip(listeners) {
        let got = tokio::time::timeout(Duration::from_secs(20), listener)
            .await
            .unwrap_or_else(|_| panic!("node {}: not every message arrived", node.name))
            .unwrap();
        let texts: Vec<(i64, String)> = got
            .iter()
            .map(|(id, text, _)| (*id, text.clone()))
            .collect();
        assert_eq!(texts, by_id, "node {}", node.name);
        // The gap: how long the messages acknowledged after the broker came
        // back waited to reach this node (its consumer starts again).
        let longest = got
            .iter()
            .filter(|(id, _, _)| acked_at[id] > back)
            .map(|(id, _, arrived)| arrived.saturating_duration_since(acked_at[id]))
            .max()
            .unwrap();
        let caught_up = got
            .iter()
            .filter(|(id, _, _)| acked_at[id] > back)
            .map(|(_, _, arrived)| *arrived - back)
            .min()
            .unwrap();
        fills.push(format!(
            "node {}: first message after the restart delivered {} ms after it, longest wait from acknowledgement to delivery {} ms",
            node.name,
            caught_up.as_millis(),
            longest.as_millis()
        ));
    }
    println!(
        "broker restart under load: {} acknowledged, {} refused; first acknowledgement {} ms after the broker was restarted; {}",
        by_id.len(),
        refused.len(),
        first_back.as_millis(),
        fills.join("; ")
    );

    // And every node's history has them all, and nothing refused.
    for node in &nodes {
        let mut ws = WsClient::login(node.http(), &format!("h{}", node.name)).await;
        ws.ask(json!({"type": "join", "room": "lobby"}), 1).await;
        assert_eq!(
            full_history(&mut ws, "lobby").await,
            by_id,
            "node {}",
            node.name
        );
    }
}

/// Polls `node`'s `/readyz` until its status is `status` (at most `limit`);
/// its last answer.
async fn readyz_until(node: &Node, status: u16, limit: Duration) -> (u16, String) {
    let mut last = (0, String::new());
    eventually(limit, async || {
        last = get(node.http(), "/readyz").await;
        last.0 == status
    })
    .await;
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readyz_says_not_ready_while_a_node_cannot_reach_the_broker() {
    let Some(mut nats) = Nats::start() else {
        return;
    };
    let proxy = support::cluster::Proxy::start(nats.port).await;
    let a = Node::start(&nats, "a");
    let b = Node::start_via(&proxy.url(), "b", tempfile::tempdir().unwrap());
    let ready = (200, "ready\n".to_owned());
    for node in [&a, &b] {
        // Ready once every listener accepts (the HTTP one may be first).
        let answer = readyz_until(node, 200, Duration::from_secs(10)).await;
        assert_eq!(answer, ready, "node {}", node.name);
    }

    // B cut off: not ready, within the heartbeat silence; a still is.
    proxy.cut();
    let (status, body) = readyz_until(&b, 503, Duration::from_secs(4)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: "), "{body}");
    assert!(body.contains("broker"), "{body}");
    assert_eq!(get(a.http(), "/readyz").await, ready);
    // Healed (b had no users, so nobody declared it gone): ready again.
    proxy.heal();
    assert_eq!(readyz_until(&b, 200, Duration::from_secs(10)).await, ready);

    // The broker down: neither node is ready; back: both are.
    nats.kill();
    for node in [&a, &b] {
        let (status, body) = readyz_until(node, 503, Duration::from_secs(4)).await;
        assert_eq!(status, 503, "node {}: {body}", node.name);
        assert!(body.contains("broker"), "{body}");
    }
    nats.restart();
    for node in [&a, &b] {
        let answer = readyz_until(node, 200, Duration::from_secs(10)).await;
        assert_eq!(answer, ready, "node {}", node.name);
    }
}

/// What a node answers a `hello` as `name` on a new WebSocket.
async fn hello(node: std::net::SocketAddr, name: &str) -> Value {
    let mut ws = WsClient::connect(node).await;
    ws.send(json!({"type": "hello", "name": name, "id": 0}))
        .await;
    ws.recv().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_operator_on_one_node_kills_and_server_bans_users_on_another() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let Some(mut nats) = Nats::start() else {
        return;
    };
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("banter.toml");
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(b"correct horse", &salt)
        .unwrap()
        .to_string();
    let lines = banter_server::config::Operator::toml_lines("root", &hash);
    std::fs::write(&config, lines).unwrap();
    let data = tempfile::tempdir().unwrap();
    let a = Node::start_with(
        &nats.url(),
        "a",
        data,
        &["--config", config.to_str().unwrap()],
    );
    let b = Node::start(&nats, "b");
    let mut boss = WsClient::login(a.http(), "boss").await;
    let (oper, _) = boss
        .ask(
            json!({"type": "oper", "name": "root", "password": "correct horse"}),
            1,
        )
        .await;
    assert_eq!(oper["type"], "operator", "{oper}");

    // A kill from a of a user on b.
    let mut vic = WsClient::login(b.http(), "vic").await;
    let killed = eventually(Duration::from_secs(5), async || {
        // A's copy of the names learns of vic on its own time.
        let (answer, _) = boss
            .ask(json!({"type": "kill", "name": "vic", "reason": "spam"}), 2)
            .await;
        answer["type"] == "user_killed"
    })
    .await;
    assert!(killed, "a finds vic on b");
    let told = vic.until("killed").await;
    assert_eq!(
        (told["by"].as_str(), told["reason"].as_str()),
        (Some("boss"), Some("spam")),
        "{told}"
    );
    assert!(
        vic.try_recv(Duration::from_secs(5)).await.is_none(),
        "vic is disconnected"
    );

    // A server ban set on a: b disconnects its user it matches and refuses
    // the pattern from then on; lifted on a, b lets it in again.
    let mut spammer = WsClient::login(b.http(), "spammer").await;
    let (set, _) = boss
        .ask(
            json!({"type": "server_ban", "mask": "spam*", "reason": "adverts"}),
            3,
        )
        .await;
    assert_eq!(set["type"], "server_ban_set", "{set}");
    let told = spammer.until("killed").await;
    assert_eq!(told["reason"], "banned: adverts", "{told}");
    let refused = hello(b.http(), "spam2").await;
    assert_eq!(refused["code"], "server_banned", "{refused}");
    let (lifted, _) = boss
        .ask(json!({"type": "server_unban", "mask": "spam*"}), 4)
        .await;
    assert_eq!(lifted["type"], "server_ban_lifted", "{lifted}");
    let mut answer = Value::Null;
    let welcome = eventually(Duration::from_secs(5), async || {
        answer = hello(b.http(), "spam3").await;
        answer["type"] == "welcome"
    })
    .await;
    assert!(welcome, "{answer}");

    // With the broker down, a server ban is refused and set nowhere.
    nats.kill();
    let (refused, _) = boss
        .ask(json!({"type": "server_ban", "mask": "flood*"}), 5)
        .await;
    assert_eq!(refused["code"], "not_saved", "{refused}");
    let (bans, _) = boss.ask(json!({"type": "server_bans"}), 6).await;
    assert_eq!(bans["bans"], json!([]), "{bans}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_cut_off_from_the_broker_refuses_is_removed_and_never_comes_back_stale() {
    let Some(nats) = Nats::start() else { return };
    let proxy = support::cluster::Proxy::start(nats.port).await;
    let a = Node::start(&nats, "a");
    let b = Node::start(&nats, "b");
    let c = Node::start_via(&proxy.url(), "c", tempfile::tempdir().unwrap());
    let mut ann = WsClient::login(a.http(), "ann").await;
    ann.ask(json!({"type": "create", "room": "den"}), 1).await;
    let mut bob = WsClient::login(b.http(), "bob").await;
    bob.ask(json!({"type": "join", "room": "den"}), 1).await;
    let mut cat = WsClient::login(c.http(), "cat").await;
    cat.ask(json!({"type": "join", "room": "den"}), 1).await;
    assert!(say(&mut cat, "den", "m-hello", 2).await.is_ok());

    proxy.cut();
    let cut = std::time::Instant::now();
    let (code, _) = say(&mut cat, "den", "m-lost", 3)
        .await
        .expect_err("c is cut off");
    assert_eq!(code, "not_saved");
    assert!(
        cut.elapsed() < Duration::from_millis(3500),
        "{:?}",
        cut.elapsed()
    );
    for ws in [&mut ann, &mut bob] {
        let left = until_in(ws, "member_left", "den").await;
        assert_eq!(
            (left["name"].as_str(), left["reason"].as_str()),
            (Some("cat"), Some("disconnected"))
        );
    }
    assert!(
        cut.elapsed() < Duration::from_secs(6),
        "{:?}",
        cut.elapsed()
    );
    // Its user's name is free on the connected nodes, and held by one at a time.
    let mut taken = None;
    assert!(
        eventually(Duration::from_secs(5), async || {
            taken = claim_ws(a.http(), "cat".into()).await;
            taken.is_some()
        })
        .await
    );
    assert!(claim_ws(b.http(), "cat".into()).await.is_none());

    // Healed, c learns it was declared gone and stops rather than serve stale.
    proxy.heal();
    let mut c = c;
    let status = c.banterd.wait_exit(Duration::from_secs(15));
    assert_eq!(status.code(), Some(3), "{}", c.banterd.log.lock().unwrap());
    assert!(c
        .banterd
        .log
        .lock()
        .unwrap()
        .contains("declared this node gone"));
    // Nothing said while cut off came through.
    ann.expect_silence(Duration::from_millis(300)).await;
    let history = json_history(&mut ann, "den").await;
    assert_eq!(
        history.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(),
        ["m-hello"]
    );
}
