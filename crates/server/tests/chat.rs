//! Wire tests: registration, room chat and every command, over real sockets.

mod support;

use std::time::Duration;

use support::{Client, TestServer};

const QUIET: Duration = Duration::from_millis(200);

#[tokio::test]
async fn a_valid_name_enters_the_default_room() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.skip_greeting().await;
    alice.send("alice").await;
    alice
        .expect("hello alice, you are in lobby with nobody else. Type :h for help.")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_and_taken_names_get_an_error_and_the_prompt_again() {
    let server = TestServer::start().await;
    let _alice = server.login("Alice").await;
    let mut other = server.connect().await;
    other.skip_greeting().await;
    for (bad, why) in [
        ("", "error: a name cannot be empty"),
        ("bad name", "error: a name may only contain"),
        (
            &"x".repeat(25),
            "error: a name is too long (25 characters, at most 24)",
        ),
        ("alice", "error: the name alice is taken; choose another"),
    ] {
        other.send(bad).await;
        other.expect_prefix(why).await;
        other.expect_prefix("choose a screen name").await;
    }
    other.send("bob").await;
    other
        .expect_prefix("hello bob, you are in lobby with 1 other")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn name_colon_room_creates_or_enters_that_room() {
    let server = TestServer::start().await;
    let mut alice = server.connect().await;
    alice.skip_greeting().await;
    alice.send("alice:games").await;
    alice
        .expect_prefix("hello alice, you are in games with nobody else")
        .await;
    // First into an empty room: its host, and told so.
    alice.expect("you are the host of games").await;
    let mut bob = server.connect().await;
    bob.skip_greeting().await;
    bob.send("bob:GAMES").await;
    bob.expect_prefix("hello bob, you are in games with 1 other")
        .await;
    alice.expect("* bob joined games").await;
    let mut carol = server.connect().await;
    carol.skip_greeting().await;
    carol.send("carol:bad/room").await;
    carol
        .expect_prefix("error: a room name may only contain")
        .await;
    carol.expect_prefix("choose a screen name").await;
    server.stop().await;
}

#[tokio::test]
async fn before_a_name_only_help_and_exit_work() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    client.skip_greeting().await;
    client.send(":rooms").await;
    client
        .expect("error: choose a screen name first; before that only :help and :exit work")
        .await;
    client.expect_prefix("choose a screen name").await;
    client.send(":h").await;
    client
        .expect_prefix("commands (type :h <command> for details):")
        .await;
    let mut rest = Vec::new();
    loop {
        let line = client.line().await;
        if line.starts_with("choose a screen name") {
            break;
        }
        rest.push(line);
    }
    assert!(rest.iter().any(|l| l.contains(":exit")));
    client.send(":cr").await;
    client
        .expect("error: :cr is missing <room>; usage: :change-room <room>")
        .await;
    client.expect_prefix("choose a screen name").await;
    client.send(":e").await;
    client.expect("bye!").await;
    assert!(client.expect_closed().await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn chat_reaches_the_other_members_only() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    let mut carol = server.login("carol").await;
    carol.send(":n games").await;
    carol.expect("created room games; you are in it").await;
    alice.expect("* carol joined lobby").await;
    alice.expect("* carol left lobby").await;
    bob.expect("* carol joined lobby").await;
    bob.expect("* carol left lobby").await;

    alice.send("hello   everyone ").await;
    bob.expect("[lobby] alice: hello   everyone ").await;
    carol.send("anyone here?").await;
    alice.expect_silence(QUIET).await;
    bob.expect_silence(QUIET).await;
    carol.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn a_double_colon_sends_a_line_starting_with_one_colon() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send("::)").await;
    alice.expect("[lobby] bob: :)").await;
    server.stop().await;
}

#[tokio::test]
async fn join_leave_and_disconnect_are_announced() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send(":exit").await;
    bob.expect("bye!").await;
    alice.expect("* bob left the chat").await;
    let carol = server.login("carol").await;
    alice.expect("* carol joined lobby").await;
    drop(carol);
    alice.expect("* carol disconnected").await;
    // The name is free again.
    let _carol = server.login("carol").await;
    server.stop().await;
}

#[tokio::test]
async fn change_room_moves_and_reports_every_error() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send(":n games").await;
    bob.expect("created room games; you are in it").await;
    alice.expect("* bob left lobby").await;

    alice.send(":cr").await;
    alice
        .expect("error: :cr is missing <room>; usage: :change-room <room>")
        .await;
    alice.send(":cr nowhere").await;
    alice
        .expect("error: there is no room nowhere; create it with :new nowhere or see :rooms")
        .await;
    alice.send(":cr LOBBY").await;
    alice.expect("error: you are already in lobby").await;
    alice.send(":cr a b").await;
    alice
        .expect_prefix("error: :cr takes a single word (names have no spaces)")
        .await;
    // Nothing moved: lobby chat still reaches only lobby.
    alice.send("still here").await;
    bob.expect_silence(QUIET).await;

    alice.send(":changeroom Games").await;
    alice.expect("you are now in games with 1 other").await;
    bob.expect("* alice joined games").await;
    alice.send("hi bob").await;
    bob.expect("[games] alice: hi bob").await;
    server.stop().await;
}

#[tokio::test]
async fn new_room_refuses_existing_and_invalid_names() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":new Lobby").await;
    alice
        .expect("error: room lobby already exists; join it with :cr lobby")
        .await;
    alice.send(":nr no/slash").await;
    alice
        .expect("error: a room name may only contain letters, digits, '_', '-' and '.' (found '/')")
        .await;
    alice.send(&format!(":n {}", "r".repeat(33))).await;
    alice
        .expect("error: a room name is too long (33 characters, at most 32)")
        .await;
    alice.send(":n").await;
    alice
        .expect("error: :n is missing <room>; usage: :new <room>")
        .await;
    alice.send(":rooms").await;
    alice.expect("rooms (1):").await;
    alice.expect("  lobby (1)  <- you are here").await;
    server.stop().await;
}

#[tokio::test]
async fn racing_creators_get_one_room_and_one_error_each_other() {
    let server = TestServer::start().await;
    let mut clients = Vec::new();
    for i in 0..10 {
        clients.push(server.login(&format!("racer{i}")).await);
    }
    for client in &mut clients {
        client.send(":n arena").await;
    }
    let mut created = 0;
    let mut refused = 0;
    for client in &mut clients {
        // Skip join/leave notices from the other racers.
        loop {
            let line = client.line().await;
            if line == "created room arena; you are in it" {
                created += 1;
                break;
            }
            if line == "error: room arena already exists; join it with :cr arena" {
                refused += 1;
                break;
            }
            assert!(line.starts_with("* "), "unexpected {line:?}");
        }
    }
    assert_eq!((created, refused), (1, 9));
    clients[0].send(":rooms").await;
    let mut listing = Vec::new();
    loop {
        let line = clients[0].line().await;
        if line.starts_with("rooms (") {
            listing.push(line);
            break;
        }
    }
    assert_eq!(listing, vec!["rooms (2):".to_owned()]);
    server.stop().await;
}

/// Alice and Carol in the lobby, Bob in a room of his own, `games`.
async fn alice_carol_in_lobby_bob_in_games() -> (TestServer, Client, Client, Client) {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send(":n games").await;
    bob.expect("created room games; you are in it").await;
    alice.expect("* bob left lobby").await;
    let carol = server.login("carol").await;
    alice.expect("* carol joined lobby").await;
    (server, alice, bob, carol)
}

#[tokio::test]
async fn extra_room_messages_reach_the_other_room_only() {
    let (server, mut alice, mut bob, mut carol) = alice_carol_in_lobby_bob_in_games().await;

    alice.send(":erm games  good   game ").await;
    alice.expect("sent to games (1 there)").await;
    bob.expect("[games] alice@lobby: good   game ").await;
    carol.expect_silence(QUIET).await;

    alice.send(":era games").await;
    alice
        .expect("error: :era is missing <message>; usage: :erm <room> <message>")
        .await;
    alice.send(":erm nowhere hi").await;
    alice
        .expect("error: there is no room nowhere (see :rooms)")
        .await;
    alice.send(":erm lobby hi").await;
    alice
        .expect("error: you are in lobby; just type your message")
        .await;
    bob.expect_silence(QUIET).await;
    carol.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn rooms_and_who_list_rooms_and_members() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send(":n Zoo").await;
    bob.expect("created room Zoo; you are in it").await;
    alice.expect("* bob left lobby").await;
    bob.send(":n attic").await;
    bob.expect("created room attic; you are in it").await;
    alice.send(":ls").await;
    alice.expect("rooms (3):").await;
    alice.expect("  attic (1)").await;
    alice.expect("  lobby (1)  <- you are here").await;
    alice.expect("  Zoo (0)").await;
    alice.send(":who").await;
    alice.expect("in lobby (1): alice").await;
    alice.send(":users ATTIC").await;
    alice.expect("in attic (1): bob (host)").await;
    alice.send(":who cellar").await;
    alice
        .expect("error: there is no room cellar (see :rooms)")
        .await;
    alice.send(":rooms all").await;
    alice
        .expect("error: :rooms takes no arguments; usage: :rooms")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn private_messages_reach_one_user_wherever_they_are() {
    let (server, mut alice, mut bob, mut carol) = alice_carol_in_lobby_bob_in_games().await;

    alice.send(":msg BOB meet  me").await;
    alice.expect("[private to bob] meet  me").await;
    bob.expect("[private] alice: meet  me").await;
    carol.expect_silence(QUIET).await;
    alice.send(":dm nobody hi").await;
    alice
        .expect("error: nobody named nobody is connected (see :who *)")
        .await;
    alice.send(":w alice hi").await;
    alice
        .expect("error: that is you; :msg sends to someone else")
        .await;
    alice.send(":msg bob").await;
    alice
        .expect("error: :msg is missing <message>; usage: :msg <name> <message>")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn nick_changes_follow_the_registration_rules() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send(":nick ALICE").await;
    bob.expect("error: the name ALICE is taken; choose another")
        .await;
    bob.send(":nick b b").await;
    bob.expect_prefix("error: :nick takes a single word").await;
    bob.send(":nick b.b").await;
    bob.expect_prefix("error: a name may only contain").await;
    bob.send(":nick bob").await;
    bob.expect("error: you are already bob").await;
    alice.expect_silence(QUIET).await;
    bob.send(":nick Robert").await;
    bob.expect("you are now known as Robert").await;
    alice.expect("* bob is now known as Robert").await;
    bob.send("hi").await;
    alice.expect("[lobby] Robert: hi").await;
    // The old name is free, the new one taken.
    let _bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    alice.send(":msg robert hello").await;
    alice.expect("[private to Robert] hello").await;
    bob.expect("* bob joined lobby").await;
    bob.expect("[private] alice: hello").await;
    server.stop().await;
}

#[tokio::test]
async fn emotes_are_shown_to_the_whole_room() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    bob.send(":me waves  hello").await;
    alice.expect("[lobby] * bob waves  hello").await;
    bob.expect("[lobby] * bob waves  hello").await;
    bob.send(":me").await;
    bob.expect("error: :me is missing <action>; usage: :me <action>")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn help_lists_commands_and_explains_one() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":help cr").await;
    alice
        .expect(":change-room <room> - move to an existing room")
        .await;
    alice.expect("  also: :cr :changeroom :change_room").await;
    alice
        .expect_prefix("  Moves you to a room that exists")
        .await;
    alice.send(":h nothing").await;
    alice
        .expect("error: there is no command :nothing (type :h to list them)")
        .await;
    alice.send(":HELP").await;
    alice
        .expect("commands (type :h <command> for details):")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn unknown_commands_get_an_error_and_change_nothing() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    alice.send(":dance").await;
    alice
        .expect("error: unknown command :dance (type :h for help)")
        .await;
    alice.send(":").await;
    alice
        .expect("error: empty command (type :h for help)")
        .await;
    alice.send(":who").await;
    alice.expect("in lobby (1): alice").await;
    server.stop().await;
}

#[tokio::test]
async fn every_member_sees_one_order_and_each_sender_in_order() {
    let server = TestServer::start_with(|c| c.rate_limit = 0).await;
    let mut senders = Vec::new();
    for i in 0..4 {
        senders.push(server.login(&format!("s{i}")).await);
    }
    let mut watchers = Vec::new();
    for i in 0..3 {
        watchers.push(server.login(&format!("w{i}")).await);
    }
    const PER_SENDER: usize = 200;
    let sending: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, mut sender)| {
            tokio::spawn(async move {
                for seq in 0..PER_SENDER {
                    sender.send(&format!("{i} {seq}")).await;
                }
                sender
            })
        })
        .collect();
    let mut orders = Vec::new();
    for watcher in &mut watchers {
        let mut seen = Vec::new();
        while seen.len() < 4 * PER_SENDER {
            let line = watcher.line().await;
            if let Some(text) = line.strip_prefix("[lobby] ") {
                let (_, body) = text.split_once(": ").unwrap();
                seen.push(body.to_owned());
            }
        }
        let mut next = [0usize; 4];
        for body in &seen {
            let (sender, seq) = body.split_once(' ').unwrap();
            let sender: usize = sender.parse().unwrap();
            assert_eq!(
                seq.parse::<usize>().unwrap(),
                next[sender],
                "sender {sender} out of order"
            );
            next[sender] += 1;
        }
        orders.push(seen);
    }
    for task in sending {
        task.await.unwrap();
    }
    assert!(
        orders.windows(2).all(|pair| pair[0] == pair[1]),
        "members saw different orders"
    );
    server.stop().await;
}
