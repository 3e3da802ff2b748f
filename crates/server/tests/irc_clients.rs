//! Real IRC clients in tmux: irssi and weechat connect to the IRC door, join
//! a room an nc user is in, and chat with them; the screens are read back
//! with `tmux capture-pane`, in plain text and over TLS with the commands
//! banterd's start-up hints and the README give; each shows a room's ban
//! list and a moderated room's refusal. `./scripts/test` installs both when
//! missing.

mod support;

use std::path::Path;

use banter_server::config::OptionalAddr;
use support::banterd::Banterd;
use support::screen::Screen;
use support::{Client, TestServer};

async fn server() -> TestServer {
    TestServer::start_with(|config| {
        config.irc_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await
}

/// Alice, on nc, makes `games` and says something before anyone else comes.
async fn alice_in_games(server: &TestServer) -> Client {
    let mut alice = server.login("alice").await;
    alice.send(":new games").await;
    alice.expect("created room games; you are in it").await;
    alice.send("anyone here?").await;
    alice
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irssi_chats_with_an_nc_user() {
    let server = server().await;
    let mut alice = alice_in_games(&server).await;
    let home = tempfile::tempdir().unwrap();
    // irssi paces what it sends (2.2 s a command after a burst of 5), a
    // flood guard this test does not need.
    std::fs::write(
        home.path().join("config"),
        "settings = { \"irc/core\" = { cmd_queue_speed = \"0\"; cmds_max_at_once = \"100\"; }; };\n",
    )
    .unwrap();
    let port = server.irc.unwrap().port();
    let screen = Screen::start(
        "irssi",
        &format!(
            "irssi --home={} -n ann -c 127.0.0.1 -p {port}",
            home.path().display()
        ),
    );
    screen.wait_for("End of /MOTD command").await;
    screen.type_line("/join #games");
    alice.expect("* ann joined games").await;
    // irssi takes server-time, so the history comes with it.
    screen.wait_for("<@alice> anyone here?").await;
    screen
        .wait_for("Total of 2 nicks [1 ops, 0 halfops, 0 voices, 1 normal]")
        .await;
    screen.type_line("hello from irssi");
    alice.expect("[games] ann: hello from irssi").await;
    alice.send("hi ann").await;
    screen.wait_for("<@alice> hi ann").await;
    alice.send(":me waves").await;
    screen.wait_for("* alice waves").await;
    screen.type_line("/me waves back");
    alice.expect("[games] * alice waves").await;
    alice.expect("[games] * ann waves back").await;
    screen.type_line("/topic dice at nine");
    screen.wait_for("You're not channel operator").await;
    alice.send(":topic dice at nine").await;
    alice.expect_prefix("* alice set the topic").await;
    screen
        .wait_for("alice changed the topic of #games to: dice at nine")
        .await;
    screen.type_line("/quit");
    // irssi quits with its default message.
    alice.expect("* ann left the chat (leaving)").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weechat_chats_with_an_nc_user() {
    let server = server().await;
    let mut alice = alice_in_games(&server).await;
    let home = tempfile::tempdir().unwrap();
    let port = server.irc.unwrap().port();
    // Without its flood guard (2 s between messages), which this test does not need.
    let screen = Screen::start(
        "weechat",
        &format!(
            "weechat --dir {} -r '/server add banter 127.0.0.1/{port} -notls -nicks=bob \
             -autojoin=#games -anti_flood_prio_high=0 -anti_flood_prio_low=0;/connect banter'",
            home.path().display()
        ),
    );
    alice.expect("* bob joined games").await;
    screen.wait_for("bob (bob@banter) has joined #games").await;
    screen.wait_for("alice | anyone here?").await;
    screen.type_line("hello from weechat");
    alice.expect("[games] bob: hello from weechat").await;
    screen.wait_for("bob | hello from weechat").await;
    alice.send("hi bob").await;
    screen.wait_for("alice | hi bob").await;
    screen.type_line("/me nods");
    alice.expect("[games] * bob nods").await;
    alice.send(":exit").await;
    screen.wait_for("alice (alice@banter) has quit").await;
    screen.type_line("/quit");
    server.stop().await;
}

/// banterd with the IRC door over TLS only, on its self-signed certificate.
fn tls_server(data: &Path) -> Banterd {
    Banterd::start(
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--tls-self-signed",
            "--irc-tls-listen",
            "127.0.0.1:0",
        ],
        &[],
    )
}

/// The `connect with: CLIENT...` hint banterd logged at start.
fn hint(server: &Banterd, client: &str) -> String {
    let log = server.log.lock().unwrap().clone();
    log.lines()
        .filter_map(|line| line.split_once("connect with: "))
        .map(|(_, hint)| hint.to_owned())
        .find(|hint| hint.starts_with(client))
        .unwrap_or_else(|| panic!("no {client} hint in\n{log}"))
}

/// irssi without its flood guard, in a home of its own.
fn irssi(home: &Path, name: &str, nick: &str) -> Screen {
    std::fs::write(
        home.join("config"),
        "settings = { \"irc/core\" = { cmd_queue_speed = \"0\"; cmds_max_at_once = \"100\"; }; };\n",
    )
    .unwrap();
    Screen::start(name, &format!("irssi --home={} -n {nick}", home.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irssi_over_tls_as_banterd_and_the_readme_say() {
    let data = tempfile::tempdir().unwrap();
    let server = tls_server(data.path());
    let mut alice = server.login("alice").await;
    let port = server.listener("irc (TLS)").port();

    // banterd's own hint, typed as it says.
    let command = hint(&server, "irssi");
    let command = command.strip_prefix("irssi, then ").unwrap();
    assert_eq!(command, format!("/connect -tls localhost {port}"));
    let home = tempfile::tempdir().unwrap();
    let screen = irssi(home.path(), "irssi-tls", "ann");
    screen.type_line(command);
    screen.wait_for("End of /MOTD command").await;
    screen.type_line("/join #lobby");
    alice.expect("* ann joined lobby").await;
    screen.type_line("hello over tls");
    alice.expect("[lobby] ann: hello over tls").await;
    screen.type_line("/quit");
    alice.expect_prefix("* ann left the chat").await;

    // The README's verified connection, trusting the certificate banterd keeps.
    let cert = data.path().join("tls/self-signed-cert.pem");
    let home = tempfile::tempdir().unwrap();
    let screen = irssi(home.path(), "irssi-tls-verified", "bea");
    screen.type_line(&format!(
        "/connect -tls -tls_verify -tls_cafile {} localhost {port}",
        cert.display()
    ));
    screen.wait_for("End of /MOTD command").await;
    screen.type_line("/join #lobby");
    alice.expect("* bea joined lobby").await;
    screen.type_line("/quit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weechat_over_tls_as_banterd_and_the_readme_say() {
    let data = tempfile::tempdir().unwrap();
    let server = tls_server(data.path());
    let mut alice = server.login("alice").await;
    alice.send(":new games").await;
    alice.expect("created room games; you are in it").await;
    let port = server.listener("irc (TLS)").port();

    let command = hint(&server, "weechat");
    assert_eq!(
        command,
        format!(
            "weechat -r '/server add banter localhost/{port} -ssl -ssl_verify=off;/connect banter'"
        )
    );
    // The same command, in a home of its own, with a nick, a room, and no flood guard.
    let home = tempfile::tempdir().unwrap();
    let command = command
        .replacen(
            "weechat ",
            &format!("weechat --dir {} ", home.path().display()),
            1,
        )
        .replacen(
            ";/connect",
            " -nicks=bob -autojoin=#games -anti_flood_prio_high=0 -anti_flood_prio_low=0;/connect",
            1,
        );
    let screen = Screen::start("weechat-tls", &command);
    // weechat's start (a fresh home's config files, the TLS handshake) is
    // waited for on its screen, as the irssi tests wait for the MOTD: the
    // line timer below then times banterd alone, and a failure shows weechat.
    screen.wait_for("bob (bob@banter) has joined #games").await;
    alice.expect("* bob joined games").await;
    screen.type_line("hello over tls");
    alice.expect("[games] bob: hello over tls").await;
    screen.type_line("/quit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn irssi_shows_a_ban_list_and_a_moderated_rooms_refusal() {
    let server = server().await;
    let mut alice = alice_in_games(&server).await;
    alice.send(":ban troll*").await;
    alice.expect("* alice banned troll* from games").await;
    let home = tempfile::tempdir().unwrap();
    std::fs::write(
        home.path().join("config"),
        "settings = { \"irc/core\" = { cmd_queue_speed = \"0\"; cmds_max_at_once = \"100\"; }; };\n",
    )
    .unwrap();
    let port = server.irc.unwrap().port();
    let screen = Screen::start(
        "irssi",
        &format!(
            "irssi --home={} -n ann -c 127.0.0.1 -p {port}",
            home.path().display()
        ),
    );
    screen.wait_for("End of /MOTD command").await;
    screen.type_line("/join #games");
    alice.expect("* ann joined games").await;
    screen
        .wait_for("Total of 2 nicks [1 ops, 0 halfops, 0 voices, 1 normal]")
        .await;
    // A chanop's list, as irssi asks for it: here ann is none, so alice lets her.
    alice.send(":hostadd ann").await;
    screen.wait_for("mode/#games [+o ann] by alice").await;
    screen.type_line("/ban");
    screen.wait_for("troll*!*@*").await;
    screen.wait_for("alice").await;
    alice.send(":hostrm ann").await;
    screen.wait_for("mode/#games [-o ann] by alice").await;
    alice.send(":mode +m").await;
    screen.wait_for("mode/#games [+m] by alice").await;
    screen.type_line("hello from irssi");
    screen.wait_for("Cannot send to channel (+m)").await;
    alice.send(":voice ann").await;
    screen.wait_for("mode/#games [+v ann] by alice").await;
    screen.type_line("voiced now");
    // Past alice's own lines about what she did to ann.
    alice.expect_containing("[games] ann: voiced now").await;
    screen.type_line("/quit");
    alice.expect("* ann left the chat (leaving)").await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weechat_shows_a_ban_list_and_a_moderated_rooms_refusal() {
    let server = server().await;
    let mut alice = alice_in_games(&server).await;
    alice.send(":ban troll*").await;
    alice.expect("* alice banned troll* from games").await;
    let home = tempfile::tempdir().unwrap();
    let port = server.irc.unwrap().port();
    // No plugin loads but IRC (-p, then /plugin load irc), so nothing but the
    // loopback server below is ever reached; no flood guard either.
    let screen = Screen::start(
        "weechat-moderation",
        &format!(
            "weechat --dir {} -p -r '/plugin load irc;\
             /server add banter 127.0.0.1/{port} -notls -nicks=bob -autojoin=#games \
             -anti_flood_prio_high=0 -anti_flood_prio_low=0;/connect banter'",
            home.path().display()
        ),
    );
    screen.wait_for("bob (bob@banter) has joined #games").await;
    alice.expect("* bob joined games").await;
    // A chanop's list, as weechat asks for it: bob is none, so alice lets him.
    alice.send(":hostadd bob").await;
    screen.wait_for("Mode #games [+o bob] by alice").await;
    screen.type_line("/ban");
    screen
        .wait_for("[#games] [1] troll*!*@* banned by alice on ")
        .await;
    screen.wait_for("[#games] End of channel ban list").await;
    alice.send(":hostrm bob").await;
    screen.wait_for("Mode #games [-o bob] by alice").await;
    alice.send(":mode +m").await;
    screen.wait_for("Mode #games [+m] by alice").await;
    screen.type_line("hello from weechat");
    screen.wait_for("#games: Cannot send to channel (+m)").await;
    alice.send(":voice bob").await;
    screen.wait_for("Mode #games [+v bob] by alice").await;
    screen.type_line("voiced now");
    // Past alice's own lines about what she did to bob; the refused line never came.
    loop {
        let line = alice.line().await;
        assert!(!line.contains("hello from weechat"), "{line}");
        if line == "[games] bob: voiced now" {
            break;
        }
    }
    screen.type_line("/quit");
    alice.expect_prefix("* bob left the chat").await;
    server.stop().await;
}
