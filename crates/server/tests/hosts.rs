//! Wire tests: room hosts, topics, kicks, invites and password-locked rooms.

mod support;

use std::time::{Duration, Instant};

use support::{Client, TestServer};

const QUIET: Duration = Duration::from_millis(200);
/// How long a test waits for a 1 s lockout to end.
const LOCKOUT_DEADLINE: Duration = Duration::from_secs(5);

/// Logs `name` in and moves them into `room` (no password).
async fn enter(server: &TestServer, name: &str, room: &str) -> Client {
    let mut client = server.login(name).await;
    client.send(&format!(":cr {room}")).await;
    client
        .expect_prefix(&format!("you are now in {room}"))
        .await;
    client
}

/// Alice creates `games`; Bob joins it.
async fn games(server: &TestServer) -> (Client, Client) {
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    let bob = enter(server, "bob", "games").await;
    alice.expect("* bob joined games").await;
    (alice, bob)
}

#[tokio::test]
async fn the_creator_and_the_first_into_an_empty_room_are_hosts() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    bob.send(":who").await;
    bob.expect("in games (2): alice (host), bob").await;
    alice.send(":cr lobby").await;
    alice.expect_prefix("you are now in lobby").await;
    bob.expect("* alice left games").await;
    bob.expect("* bob is now the host of games").await;
    bob.send(":cr lobby").await;
    bob.expect_prefix("you are now in lobby").await;
    // games is empty now; whoever enters first is its host.
    let mut carol = server.login("carol").await;
    carol.send(":cr games").await;
    carol.expect("you are now in games with nobody else").await;
    carol.expect("you are the host of games").await;
    carol.send(":who").await;
    carol.expect("in games (1): carol (host)").await;
    let mut dave = server.connect().await;
    dave.skip_greeting().await;
    dave.send("dave:fresh").await;
    dave.expect_prefix("hello dave, you are in fresh").await;
    dave.expect("you are the host of fresh").await;
    dave.send(":who").await;
    dave.expect("in fresh (1): dave (host)").await;
    server.stop().await;
}

#[tokio::test]
async fn the_longest_present_member_succeeds_the_last_host() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    let mut carol = enter(&server, "carol", "games").await;
    alice.expect("* carol joined games").await;
    bob.expect("* carol joined games").await;
    drop(alice);
    for client in [&mut bob, &mut carol] {
        client.expect("* alice disconnected").await;
        client.expect("* bob is now the host of games").await;
    }
    carol.send(":who").await;
    carol.expect("in games (2): bob (host), carol").await;
    server.stop().await;
}

#[tokio::test]
async fn host_rights_belong_to_the_connection_not_the_name() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.send(":q").await;
    alice.expect("bye!").await;
    bob.expect("* alice left the chat").await;
    bob.expect("* bob is now the host of games").await;
    let mut alice = enter(&server, "alice", "games").await;
    alice.send(":who").await;
    alice.expect("in games (2): bob (host), alice").await;
    alice.send(":kick bob").await;
    alice
        .expect("error: only a host of games can do that (see :who)")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn the_default_room_has_no_hosts_and_cannot_be_locked() {
    let server = TestServer::start().await;
    let mut alice = server.login("alice").await;
    let _bob = server.login("bob").await;
    alice.expect("* bob joined lobby").await;
    // Each command says what to do instead.
    for (command, refused) in [
        (
            ":passwd",
            "it cannot be locked; create a room with :new to lock one",
        ),
        (
            ":unlock",
            "it cannot be locked; create a room with :new to lock one",
        ),
        (
            ":hostadd bob",
            "it has no hosts; create a room with :new to host one",
        ),
        (
            ":hostrm bob",
            "it has no hosts; create a room with :new to host one",
        ),
        (":kick bob", "nobody can be kicked from it"),
        (
            ":topic hi",
            "it has no topic; create a room with :new to have one",
        ),
        (
            ":invite bob",
            "everyone may enter it, so there is nothing to invite to",
        ),
        (":close", "it cannot be closed"),
    ] {
        alice.send(command).await;
        alice
            .expect(&format!("error: lobby is the default room: {refused}"))
            .await;
    }
    alice.send(":who").await;
    alice.expect("in lobby (2): alice, bob").await;
    server.stop().await;
}

#[tokio::test]
async fn non_hosts_get_an_error_and_nothing_changes() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    let not_host = "error: only a host of games can do that (see :who)";
    for command in [
        ":hostadd bob",
        ":hostrm alice",
        ":passwd",
        ":passwd off",
        ":unlock",
        ":kick alice",
        ":topic mine now",
        ":invite alice",
    ] {
        bob.send(command).await;
        bob.expect(not_host).await;
    }
    alice.expect_silence(QUIET).await;
    bob.send(":who").await;
    bob.expect("in games (2): alice (host), bob").await;
    bob.send(":topic").await;
    bob.expect("games has no topic").await;
    server.stop().await;
}

#[tokio::test]
async fn hosts_add_and_remove_hosts_but_never_leave_a_room_without_one() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.send(":hostadd nobody").await;
    alice.expect("error: nobody named nobody is in games").await;
    alice.send(":hostrm bob").await;
    alice.expect("error: bob is not a host of games").await;
    alice.send(":hostrm alice").await;
    alice
        .expect("error: games would be left without a host; make someone else a host first")
        .await;
    alice.send(":hostadd BOB").await;
    alice.expect("* alice made bob a host of games").await;
    bob.expect("* alice made bob a host of games").await;
    alice.send(":hostadd bob").await;
    alice.expect("error: bob is already a host of games").await;
    bob.send(":hostrm alice").await;
    bob.expect("* bob took host rights in games from alice")
        .await;
    alice
        .expect("* bob took host rights in games from alice")
        .await;
    bob.send(":hostadd alice").await;
    bob.expect("* bob made alice a host of games").await;
    alice.expect("* bob made alice a host of games").await;
    bob.send(":hostrm bob").await;
    bob.expect("* bob stepped down as host of games").await;
    alice.expect("* bob stepped down as host of games").await;
    bob.send(":who").await;
    bob.expect("in games (2): alice (host), bob").await;
    server.stop().await;
}

#[tokio::test]
async fn topics_are_read_by_anyone_set_by_hosts_and_shown_on_entry() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.send(":topic   chess  tonight").await;
    alice
        .expect("* alice set the topic of games: chess  tonight")
        .await;
    bob.expect("* alice set the topic of games: chess  tonight")
        .await;
    bob.send(":topic").await;
    bob.expect("topic of games: chess  tonight").await;
    let mut carol = server.login("carol").await;
    carol.send(":cr games").await;
    carol.expect("you are now in games with 2 others").await;
    carol.expect("topic of games: chess  tonight").await;
    server.stop().await;
}

#[tokio::test]
async fn a_locked_room_needs_its_password_and_a_wrong_one_changes_nothing() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.lock_room("alice", "games", "open sesame").await;
    bob.expect("* alice locked games with a password").await;
    let mut carol = server.login("carol").await;
    carol.send(":rooms").await;
    carol.expect("rooms (2):").await;
    carol.expect("  games (2) [locked]").await;
    carol.expect("  lobby (1)  <- you are here").await;

    carol.send(":cr games").await;
    carol
        .answer_hidden("password for games (what you type is hidden", "open sesam")
        .await;
    carol
        .expect("error: wrong password for games; you are still in lobby")
        .await;
    carol.send(":who").await;
    carol.expect("in lobby (1): carol").await;
    carol.send(":cr games").await;
    carol.answer_hidden("password for games", "").await;
    carol.expect("cancelled; nothing changed").await;
    carol.send(":cr games").await;
    carol
        .answer_hidden("password for games", "open sesame")
        .await;
    carol.expect("you are now in games with 2 others").await;
    alice.expect("* carol joined games").await;

    // Registration straight into a locked room is refused.
    let mut dave = server.connect().await;
    dave.skip_greeting().await;
    dave.send("dave:games").await;
    dave.expect(
        "error: games is locked; choose just a name, then :cr games and enter its password",
    )
    .await;
    dave.expect_prefix("choose a screen name").await;
    server.stop().await;
}

#[tokio::test]
async fn setting_a_password_can_be_cancelled_and_must_match() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.send(":passwd").await;
    alice.answer_hidden("new password for games", "").await;
    alice.expect("cancelled; nothing changed").await;
    alice.send(":passwd").await;
    alice.answer_hidden("new password for games", "one").await;
    alice
        .answer_hidden("the new password for games again", "two")
        .await;
    alice
        .expect("error: the two passwords did not match; nothing changed")
        .await;
    alice.send(":unlock").await;
    alice.expect("error: games has no password").await;
    bob.expect_silence(QUIET).await;
    alice.lock_room("alice", "games", "pw").await;
    alice.send(":passwd off").await;
    alice.expect("* alice removed the password of games").await;
    bob.expect("* alice locked games with a password").await;
    bob.expect("* alice removed the password of games").await;
    let mut carol = enter(&server, "carol", "games").await;
    carol.send(":rooms").await;
    carol.expect("rooms (2):").await;
    carol.expect("  games (3)  <- you are here").await;
    server.stop().await;
}

#[tokio::test]
async fn chat_waits_while_a_password_is_typed_and_arrives_after() {
    let server = TestServer::start().await;
    let (mut alice, _bob) = games(&server).await;
    alice.lock_room("alice", "games", "pw").await;
    let mut carol = server.login("carol").await;
    let mut dave = server.login("dave").await;
    carol.expect("* dave joined lobby").await;
    carol.send(":cr games").await;
    carol.expect_prefix("password for games").await;
    carol.expect_bytes(support::CONCEAL).await;
    dave.send("while you type").await;
    dave.send(":msg carol psst").await;
    dave.expect("[private to carol] psst").await;
    carol.expect_silence(QUIET).await;
    carol.send("wrong").await;
    carol.expect_bytes(support::RESET_ATTRIBUTES).await;
    carol.expect("[lobby] dave: while you type").await;
    carol.expect("[private] dave: psst").await;
    carol
        .expect("error: wrong password for games; you are still in lobby")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn three_wrong_passwords_lock_a_connection_out_for_a_while() {
    let server = TestServer::start_with(|c| c.password_lockout = 1).await;
    let (mut alice, _bob) = games(&server).await;
    alice.lock_room("alice", "games", "right").await;
    let mut carol = server.login("carol").await;
    let mut before_lockout = Instant::now();
    for attempt in 1..=3 {
        before_lockout = Instant::now();
        carol.send(":cr games").await;
        carol.answer_hidden("password for games", "wrong").await;
        let error = carol.line().await;
        assert!(
            error.starts_with("error: wrong password for games; you are still in lobby"),
            "{error}"
        );
        assert_eq!(
            error.contains("Too many tries: wait 1 s"),
            attempt == 3,
            "{error}"
        );
    }
    // Refused until the second is up (asking again does not extend it), then
    // asked for the password again.
    let deadline = Instant::now() + LOCKOUT_DEADLINE;
    loop {
        carol.send(":cr games").await;
        let line = carol.line().await;
        if line.starts_with("password for games") {
            break;
        }
        assert_eq!(
            line,
            "error: too many wrong passwords for games; try again in 1 s"
        );
        assert!(Instant::now() < deadline, "still locked out");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(before_lockout.elapsed() >= Duration::from_secs(1));
    carol.expect_bytes(support::CONCEAL).await;
    carol.expect_silence(Duration::from_millis(100)).await;
    carol.send("right").await;
    carol.expect_bytes(support::RESET_ATTRIBUTES).await;
    carol.expect("you are now in games with 2 others").await;
    server.stop().await;
}

#[tokio::test]
async fn extra_room_messages_into_a_locked_room_need_the_password_first() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.lock_room("alice", "games", "pw").await;
    bob.expect("* alice locked games with a password").await;
    let mut carol = server.login("carol").await;
    carol.send(":erm games hello?").await;
    carol
        .expect("error: games is locked; only its members and those who entered it with its password can :erm it. Try :cr games first")
        .await;
    carol.send(":cr games").await;
    carol.answer_hidden("password for games", "pw").await;
    carol.expect("you are now in games with 2 others").await;
    carol.send(":cr lobby").await;
    carol.expect("you are now in lobby with nobody else").await;
    // Entered with the password during this connection: allowed, and back in without it.
    carol.send(":erm games still here").await;
    carol.expect("sent to games (2 there)").await;
    bob.expect("* carol joined games").await;
    bob.expect("* carol left games").await;
    bob.expect("[games] carol@lobby: still here").await;
    alice.expect("* carol joined games").await;
    alice.expect("* carol left games").await;
    alice.expect("[games] carol@lobby: still here").await;
    // A new password withdraws that.
    alice.lock_room("alice", "games", "pw2").await;
    carol.send(":erm games again").await;
    carol.expect_prefix("error: games is locked;").await;
    carol.send(":cr games").await;
    carol.expect_prefix("password for games").await;
    server.stop().await;
}

#[tokio::test]
async fn kicked_members_land_in_the_default_room_and_need_the_password_to_return() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.lock_room("alice", "games", "pw").await;
    bob.expect("* alice locked games with a password").await;
    let mut carol = server.login("carol").await;
    carol.send(":cr games").await;
    carol.answer_hidden("password for games", "pw").await;
    carol.expect("you are now in games with 2 others").await;
    alice.expect("* carol joined games").await;
    bob.expect("* carol joined games").await;

    alice.send(":kick alice").await;
    alice
        .expect("error: you cannot kick yourself; use :cr to leave")
        .await;
    alice.send(":kick dave").await;
    alice.expect("error: nobody named dave is in games").await;
    alice.send(":kick carol  spamming  links").await;
    alice
        .expect("* carol was kicked from games by alice: spamming  links")
        .await;
    bob.expect("* carol was kicked from games by alice: spamming  links")
        .await;
    carol
        .expect("you were kicked from games by alice: spamming  links")
        .await;
    carol.expect("you are now in lobby with nobody else").await;
    carol.send(":cr games").await;
    carol.answer_hidden("password for games", "").await;
    carol.expect("cancelled; nothing changed").await;

    alice.send(":hostadd bob").await;
    alice.expect("* alice made bob a host of games").await;
    bob.expect("* alice made bob a host of games").await;
    alice.send(":kick bob").await;
    alice
        .expect("error: bob is a host; take their host rights first with :hostrm bob")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn an_invitation_lets_one_user_in_once_without_the_password() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.send(":invite carol").await;
    alice
        .expect("error: games has no password and is not invite-only (:mode +i); anyone can :cr games already")
        .await;
    alice.lock_room("alice", "games", "pw").await;
    bob.expect("* alice locked games with a password").await;
    let mut carol = server.login("carol").await;
    alice.send(":invite bob").await;
    alice.expect("error: bob is already in games").await;
    alice.send(":invite nobody").await;
    alice
        .expect("error: nobody named nobody is connected (see :who *)")
        .await;
    alice.send(":invite Carol").await;
    alice
        .expect("carol may now enter games once without the password")
        .await;
    carol
        .expect("alice invited you to games; type :cr games to enter without the password")
        .await;
    carol.send(":cr games").await;
    carol.expect("you are now in games with 2 others").await;
    carol.send(":cr lobby").await;
    carol.expect("you are now in lobby with nobody else").await;
    carol.send(":cr games").await;
    carol.expect_prefix("password for games").await;
    server.stop().await;
}

#[tokio::test]
async fn a_ban_kicks_the_matching_members_keeps_them_out_and_is_listed() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    alice.send(":ban BO*").await;
    alice.expect("* alice banned BO* from games").await;
    alice
        .expect("* bob was kicked from games by alice: banned (BO*)")
        .await;
    bob.expect("* alice banned BO* from games").await;
    bob.expect("you were kicked from games by alice: banned (BO*)")
        .await;
    bob.expect_prefix("you are now in lobby").await;
    bob.send(":cr games").await;
    bob.expect("error: you are banned from games").await;
    bob.send(":erm games let me in").await;
    bob.expect("error: you are banned from games").await;
    alice.send(":bans").await;
    alice.expect("bans of games (1):").await;
    alice.expect_prefix("  BO* (by alice, ").await;
    alice.send(":ban bo*").await;
    alice
        .expect("error: BO* is already banned from games")
        .await;
    alice.send(":ban *!*@192.0.2.1").await;
    alice
        .expect_prefix("error: a ban's user part must be * and its host part * or an IP address pattern, and only server operators may ban by address")
        .await;
    alice.send(":unban bo*").await;
    alice.expect("* alice lifted the ban on BO* in games").await;
    alice.send(":bans").await;
    alice.expect("games bans nobody").await;
    bob.send(":cr games").await;
    bob.expect_prefix("you are now in games").await;
    // Hosts only.
    bob.send(":bans").await;
    bob.expect("error: only a host of games can do that (see :who)")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn modes_are_shown_set_by_hosts_and_change_who_may_enter_speak_and_see() {
    let server = TestServer::start().await;
    let (mut alice, mut bob) = games(&server).await;
    bob.send(":mode").await;
    bob.expect(
        "modes of games: +nt (no messages from outside except :erm; only hosts set the topic)",
    )
    .await;
    bob.send(":mode +m").await;
    bob.expect("error: only a host of games can do that (see :who)")
        .await;
    bob.send(":topic mine").await;
    bob.expect("error: only a host of games can do that (see :who)")
        .await;
    alice.send(":mode -t+iw").await;
    alice
        .expect("error: 'w' is not a room mode; the modes are i, m, n, s and t")
        .await;
    alice.send(":mode -t+is").await;
    // Several modes in one command are one change, told in one line.
    let line = "* alice set games -t+is (any member may set the topic; \
                invite-only: entering needs an invitation; \
                secret: unlisted, members hidden from outsiders)";
    alice.expect(line).await;
    bob.expect(line).await;
    bob.send(":topic mine").await;
    bob.expect("* bob set the topic of games: mine").await;
    alice.expect("* bob set the topic of games: mine").await;
    let mut carol = server.login("carol").await;
    carol.send(":rooms").await;
    carol.expect("rooms (1):").await;
    carol.expect("  lobby (1)  <- you are here").await;
    carol.send(":who games").await;
    carol
        .expect("error: there is no room games (see :rooms)")
        .await;
    carol.send(":cr games").await;
    carol
        .expect("error: games is invite-only; a host of it must :invite you first")
        .await;
    alice.send(":invite carol").await;
    alice
        .expect("carol may now enter games once without the password")
        .await;
    carol.expect_prefix("alice invited you to games").await;
    carol.send(":cr games").await;
    carol.expect_prefix("you are now in games").await;
    carol.expect("topic of games: mine").await;
    // The invitation was good for one entry.
    carol.send(":cr lobby").await;
    carol.expect_prefix("you are now in lobby").await;
    carol.send(":cr games").await;
    carol
        .expect("error: games is invite-only; a host of it must :invite you first")
        .await;
    // The default room's modes are fixed.
    carol.send(":mode +m").await;
    carol
        .expect("error: lobby is the default room: its modes are fixed (n and t); create a room to set them")
        .await;
    server.stop().await;
}
