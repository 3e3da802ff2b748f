//! Server operators over real sockets, on every door and across doors:
//! authenticating (and the lockout), disconnecting users, server bans by
//! name and by address (refused at registration, kept across a restart),
//! announcements, closing and hosting any room, what WHO and WHOIS show;
//! the IRC door's HELP and `invite-notify`; the operator password in no log
//! and on no nc screen; `banterd operator add`.

mod support;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use argon2::password_hash::{PasswordHasher, SaltString};
use banter_server::config::{Operator, OptionalAddr};
use banter_server::Config;
use serde_json::json;
use support::banterd::Banterd;
use support::irc::IrcClient;
use support::ws::WsClient;
use support::{Client, TestServer};

const PASSWORD: &str = "correct-horse-battery";

fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .unwrap()
        .to_string()
}

fn with_operator(config: &mut Config) {
    config.operators = vec![Operator {
        name: "root".into(),
        hash: hash(PASSWORD),
    }];
}

/// Every door, with one operator `root`.
async fn server() -> TestServer {
    TestServer::start_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
        config.irc_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
        with_operator(config);
    })
    .await
}

/// A JSON user who is an operator.
async fn ws_operator(server: &TestServer, name: &str) -> WsClient {
    let mut ws = WsClient::login(server.http.unwrap(), name).await;
    let (reply, _) = ws
        .ask(json!({"type":"oper","name":"root","password":PASSWORD}), 1)
        .await;
    assert_eq!(reply, json!({"type":"operator","name":"root","id":1}));
    ws
}

/// Makes `client` (a text-door user) an operator with the hidden prompt.
async fn text_oper(client: &mut Client, password: &str) {
    client.send(":oper root").await;
    client
        .answer_hidden("operator password for root", password)
        .await;
}

#[tokio::test]
async fn oper_on_irc_answers_381_and_mode_o_or_464_and_locks_out_after_three_misses() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    ann.send("OPER root").await;
    ann.expect(":banter 461 ann OPER :Not enough parameters")
        .await;
    ann.send("OPER nobody whatever").await;
    ann.expect_prefix(":banter 464 ann :Password incorrect")
        .await;
    ann.send(&format!("OPER root {PASSWORD}")).await;
    ann.expect(":banter 381 ann :You are now an IRC operator")
        .await;
    ann.expect(":ann!ann@banter MODE ann :+o").await;

    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    for _ in 0..2 {
        bob.send("OPER root wrong").await;
        bob.expect_prefix(":banter 464 bob :Password incorrect")
            .await;
    }
    bob.send("OPER root wrong").await;
    let third = bob.expect_prefix(":banter 464 bob").await;
    assert!(third.contains("wait 30 s"), "{third}");
    // Locked out: even the right password is not tried.
    bob.send(&format!("OPER root {PASSWORD}")).await;
    let locked = bob.expect_prefix(":banter 491 bob :").await;
    assert!(
        locked.contains("too many wrong operator passwords"),
        "{locked}"
    );
    // Operators only.
    bob.send("KILL ann :bye").await;
    bob.expect(":banter 481 bob :Permission Denied- You're not an IRC operator")
        .await;
    bob.send("WALLOPS :hello").await;
    bob.expect_prefix(":banter 481 bob").await;
    server.stop().await;
}

#[tokio::test]
async fn a_server_with_no_operators_says_so() {
    let server = TestServer::start_with(|config| {
        config.irc_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    ann.send("OPER root secret").await;
    ann.expect(":banter 491 ann :No O-lines for your host")
        .await;
    let mut bob = server.login("bob").await;
    text_oper(&mut bob, "secret").await;
    bob.expect("error: this server has no operators").await;
    server.stop().await;
}

#[tokio::test]
async fn an_operator_on_the_text_door_disconnects_an_irc_user_and_their_rooms_see_why() {
    let server = server().await;
    let mut opal = server.login("opal").await;
    let mut ircbob = IrcClient::register(server.irc.unwrap(), "ircbob").await;
    ircbob.send("JOIN #lobby").await;
    ircbob.lines_to(" 366 ").await;
    opal.expect("* ircbob joined lobby").await;
    // Not yet an operator.
    opal.send(":kill ircbob").await;
    opal.expect("error: only server operators may do that (:oper <name> to become one)")
        .await;
    text_oper(&mut opal, "not it").await;
    opal.expect("error: wrong operator name or password").await;
    text_oper(&mut opal, PASSWORD).await;
    opal.expect("you are now a server operator (root); :h lists what operators may do")
        .await;
    opal.send(":kill ircbob spamming the lobby").await;
    opal.expect_containing("ircbob was disconnected").await;
    opal.expect_containing("* ircbob left the chat (Killed by opal: spamming the lobby)")
        .await;
    ircbob
        .skip_to(":opal!opal@banter KILL ircbob :spamming the lobby")
        .await;
    let rest = ircbob.expect_closed().await;
    assert_eq!(
        rest,
        ["ERROR :Closing link: Killed by opal: spamming the lobby"]
    );
    // Nobody by that name now.
    opal.send(":kill ircbob").await;
    opal.expect("error: nobody named ircbob is connected (see :who *)")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_name_ban_from_json_disconnects_matches_and_refuses_them_on_every_door() {
    let server = server().await;
    let mut root = ws_operator(&server, "rooty").await;
    let mut troll = WsClient::login(server.http.unwrap(), "TrollFace").await;
    let mut bystander = server.login("bystander").await;
    let (reply, _) = root
        .ask(
            json!({"type":"server_ban","mask":"troll*","seconds":3600,"reason":"spam"}),
            2,
        )
        .await;
    assert_eq!(reply["type"], "server_ban_set", "{reply}");
    assert_eq!(reply["mask"], "troll*");
    assert_eq!(reply["reason"], "spam");
    assert_eq!(reply["by"], "rooty");
    assert_eq!(reply["disconnected"], 1);
    let until = reply["until"].as_i64().unwrap();
    assert!(
        until - reply["at"].as_i64().unwrap() == 3_600_000,
        "{reply}"
    );
    assert_eq!(
        troll.until("killed").await,
        json!({"type":"killed","by":"rooty","reason":"banned: spam"})
    );
    assert_eq!(troll.try_recv(Duration::from_secs(5)).await, None);
    // Refused at registration on the JSON door...
    let mut again = WsClient::connect(server.http.unwrap()).await;
    again
        .send(json!({"type":"hello","name":"troll2","id":1}))
        .await;
    let refused = again.recv().await;
    assert_eq!(refused["code"], "server_banned", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("you are banned from this server until "),
        "{refused}"
    );
    assert!(refused["message"].as_str().unwrap().ends_with(" UTC: spam"));
    // ...on the text door, and for a rename to a banned name.
    let mut text = server.connect().await;
    text.skip_greeting().await;
    text.send("trollish").await;
    text.expect_prefix("error: you are banned from this server until ")
        .await;
    bystander.send(":nick troll9").await;
    bystander
        .expect_past_notices("error: you are banned from this server")
        .await;
    // Listed, lifted, and then welcome.
    let (list, _) = root.ask(json!({"type":"server_bans"}), 3).await;
    assert_eq!(list["bans"].as_array().unwrap().len(), 1, "{list}");
    let (lifted, _) = root
        .ask(json!({"type":"server_unban","mask":"TROLL*"}), 4)
        .await;
    assert_eq!(
        lifted,
        json!({"type":"server_ban_lifted","mask":"troll*","id":4})
    );
    let (missing, _) = root
        .ask(json!({"type":"server_unban","mask":"troll*"}), 5)
        .await;
    assert_eq!(missing["code"], "no_such_server_ban");
    let (bad, _) = root.ask(json!({"type":"server_ban","mask":"*"}), 6).await;
    assert_eq!(bad["code"], "bad_server_ban");
    WsClient::login(server.http.unwrap(), "troll2").await;
    server.stop().await;
}

#[tokio::test]
async fn an_address_ban_refuses_that_address_alone() {
    let server = server().await;
    let mut root = ws_operator(&server, "rooty").await;
    let (reply, _) = root
        .ask(json!({"type":"server_ban","mask":"*@127.0.0.2"}), 2)
        .await;
    assert_eq!(reply["mask"], "*@127.0.0.2", "{reply}");
    assert_eq!(reply["until"], json!(null));
    assert_eq!(reply["reason"], "banned by a server operator");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut far = Client::from_stream(socket.connect(server.addr).await.unwrap());
    far.skip_greeting().await;
    far.send("innocent").await;
    far.expect("error: you are banned from this server: banned by a server operator")
        .await;
    server.login("neighbour").await;
    // An operator who is not one cannot see it.
    let mut plain = WsClient::login(server.http.unwrap(), "plain").await;
    let (refused, _) = plain.ask(json!({"type":"server_bans"}), 7).await;
    assert_eq!(refused["code"], "not_operator");
    server.stop().await;
}

#[tokio::test]
async fn an_announcement_reaches_every_door_marked_as_a_notice() {
    let server = server().await;
    let mut text = server.login("texty").await;
    let mut ws = WsClient::login(server.http.unwrap(), "webby").await;
    let mut irc = IrcClient::register(server.irc.unwrap(), "ircy").await;
    let mut oper = IrcClient::register(server.irc.unwrap(), "boss").await;
    oper.send(&format!("OPER root {PASSWORD}")).await;
    oper.skip_to(" MODE boss :+o").await;
    oper.send("WALLOPS :restart at noon").await;
    text.expect("[notice from boss] restart at noon").await;
    assert_eq!(
        ws.until("announcement").await,
        json!({"type":"announcement","from":"boss","text":"restart at noon"})
    );
    irc.expect(":boss!boss@banter NOTICE $* :restart at noon")
        .await;
    oper.expect(":boss!boss@banter NOTICE $* :restart at noon")
        .await;
    // NOTICE $* is the same.
    oper.send("NOTICE $* :back soon").await;
    irc.expect(":boss!boss@banter NOTICE $* :back soon").await;
    server.stop().await;
}

#[tokio::test]
async fn an_operator_closes_a_room_they_are_not_in_and_makes_themselves_host() {
    let server = server().await;
    let mut alice = WsClient::login(server.http.unwrap(), "alice").await;
    alice.ask(json!({"type":"create","room":"games"}), 1).await;
    alice.ask(json!({"type":"create","room":"chess"}), 2).await;
    let mut root = ws_operator(&server, "rooty").await;
    let (closed, _) = root.ask(json!({"type":"close","room":"games"}), 3).await;
    assert_eq!(
        closed,
        json!({"type":"room_closed","room":"games","by":"rooty","id":3})
    );
    assert_eq!(
        alice.until("room_closed").await,
        json!({"type":"room_closed","room":"games","by":"rooty"})
    );
    // IRC: MODE +o on oneself, in a room one does not host.
    let mut boss = IrcClient::register(server.irc.unwrap(), "boss").await;
    boss.send("JOIN #chess").await;
    boss.lines_to(" 366 ").await;
    boss.send("MODE #chess +o boss").await;
    boss.expect(":banter 482 boss #chess :You're not channel operator")
        .await;
    boss.send(&format!("OPER root {PASSWORD}")).await;
    boss.skip_to(" MODE boss :+o").await;
    boss.send("SAMODE #chess +o boss").await;
    boss.expect(":boss!boss@banter MODE #chess +o boss").await;
    assert_eq!(
        alice.until("host_added").await,
        json!({"type":"host_added","room":"chess","name":"boss","by":"boss"})
    );
    server.stop().await;
}

#[tokio::test]
async fn who_and_whois_mark_operators_and_only_operators_see_addresses() {
    let server = server().await;
    let mut boss = IrcClient::register(server.irc.unwrap(), "boss").await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    boss.send(&format!("OPER root {PASSWORD}")).await;
    boss.skip_to(" MODE boss :+o").await;
    ann.send("WHOIS boss").await;
    let lines = ann.lines_to(" 318 ").await;
    assert!(
        lines
            .iter()
            .any(|l| l == ":banter 313 ann boss :is an IRC operator"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains(" 338 ")), "{lines:?}");
    ann.send("WHO boss").await;
    let who = ann.expect_prefix(":banter 352 ann * ").await;
    assert!(who.contains(" boss H* :0 "), "{who}");
    boss.send("WHOIS ann").await;
    let lines = boss.lines_to(" 318 ").await;
    assert!(
        lines
            .iter()
            .any(|l| l == ":banter 338 boss ann ann@127.0.0.1 127.0.0.1 :actually using host"),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains(" 313 ")), "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn help_answers_with_704_705_706_and_524_for_an_unknown_subject() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    ann.send("HELP").await;
    let lines = ann.lines_to(" 706 ").await;
    assert!(lines[0].starts_with(":banter 704 ann index :"), "{lines:?}");
    assert!(lines[1].starts_with(":banter 705 ann index :"), "{lines:?}");
    ann.send("HELPOP privmsg").await;
    ann.expect_prefix(":banter 704 ann PRIVMSG :PRIVMSG <")
        .await;
    ann.expect(":banter 706 ann PRIVMSG :End of /HELP").await;
    ann.send("HELP dance").await;
    ann.expect(":banter 524 ann dance :No help available on this topic")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn invite_notify_shows_a_channel_operators_invitation_to_members_with_the_cap() {
    let server = server().await;
    let irc = server.irc.unwrap();
    let mut host = IrcClient::register(irc, "host").await;
    host.send("JOIN #vault").await;
    host.lines_to(" 366 ").await;
    host.send("MODE #vault +k sesame").await;
    host.skip_to(" MODE #vault +k").await;
    let mut noted = IrcClient::register_with(irc, "noted", "invite-notify").await;
    noted.send("JOIN #vault sesame").await;
    noted.lines_to(" 366 ").await;
    let mut plain = IrcClient::register(irc, "plain").await;
    plain.send("JOIN #vault sesame").await;
    plain.lines_to(" 366 ").await;
    let mut guest = IrcClient::register(irc, "guest").await;
    host.send("INVITE guest #vault").await;
    host.skip_to(" 341 host guest #vault").await;
    guest.expect(":host!host@banter INVITE guest #vault").await;
    noted.skip_to(":host!host@banter INVITE guest #vault").await;
    plain.send("PING :after").await;
    let seen = plain.lines_to("PONG").await;
    assert!(!seen.iter().any(|l| l.contains("INVITE")), "{seen:?}");
    server.stop().await;
}

fn config_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("banter.toml");
    std::fs::write(&path, Operator::toml_lines("root", &hash(PASSWORD))).unwrap();
    path
}

#[tokio::test]
async fn a_server_ban_outlives_a_restart_and_the_password_is_in_no_log_or_screen() {
    let dir = tempfile::TempDir::new().unwrap();
    let config = config_file(dir.path());
    let data = dir.path().join("data");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--log-level",
        "trace",
        "--http-listen",
        "127.0.0.1:0",
        "--irc-listen",
        "127.0.0.1:0",
    ];
    let mut server = Banterd::start(&args, &[]);
    // The password on every door, right and wrong, at the most verbose log level.
    let mut irc = IrcClient::register(server.listener("irc"), "ircop").await;
    irc.send(&format!("OPER root {PASSWORD}x")).await;
    irc.expect_prefix(":banter 464 ircop").await;
    irc.send(&format!("OPER root {PASSWORD}")).await;
    irc.expect(":banter 381 ircop :You are now an IRC operator")
        .await;
    let mut ws = WsClient::login(server.listener("http"), "wsop").await;
    let (reply, _) = ws
        .ask(json!({"type":"oper","name":"root","password":PASSWORD}), 1)
        .await;
    assert_eq!(reply["type"], "operator");
    let mut opal = server.login("opal").await;
    // Concealed while typed (nc) and never sent back: the next line is the answer.
    text_oper(&mut opal, PASSWORD).await;
    let answer = opal.line().await;
    assert!(
        answer.starts_with("you are now a server operator"),
        "{answer}"
    );
    opal.send(":sban troll* 2h spam").await;
    opal.expect_prefix("server ban on troll* set until ").await;
    opal.send(":exit").await;
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(5)).success());
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("became a server operator"), "{log}");
    assert!(log.contains("operator set a server ban"), "{log}");
    assert!(
        !log.contains(PASSWORD),
        "the operator password is in the log"
    );
    drop(server);

    let server = Banterd::start(&args, &[]);
    let mut troll = Client::connect(server.addr).await;
    troll.skip_greeting().await;
    troll.send("trollish").await;
    let refused = troll
        .expect_prefix("error: you are banned from this server until ")
        .await;
    assert!(refused.ends_with(" UTC: spam"), "{refused}");
    server.login("fine").await;
}

#[test]
fn operator_add_prints_lines_that_configure_an_operator_or_appends_them() {
    let dir = tempfile::TempDir::new().unwrap();
    let run = |args: &[&str], input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_banterd"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let twice = format!("{PASSWORD}\n{PASSWORD}\n");
    let printed = run(&["operator", "add", "root"], &twice);
    assert!(printed.status.success(), "{printed:?}");
    let stdout = String::from_utf8(printed.stdout).unwrap();
    assert!(!stdout.contains(PASSWORD));
    let path = dir.path().join("banter.toml");
    std::fs::write(&path, stdout).unwrap();
    let config = Config::load(["banterd", "--config", path.to_str().unwrap()]).unwrap();
    assert_eq!(config.operators.len(), 1);
    assert_eq!(config.operators[0].name, "root");
    assert!(config.operators[0].hash.starts_with("$argon2id$"));

    let differ = run(
        &[
            "--config",
            path.to_str().unwrap(),
            "operator",
            "add",
            "second",
        ],
        "one\ntwo\n",
    );
    assert!(!differ.status.success());
    assert!(String::from_utf8_lossy(&differ.stderr).contains("the passwords differ"));
    let taken = run(
        &[
            "--config",
            path.to_str().unwrap(),
            "operator",
            "add",
            "ROOT",
        ],
        &twice,
    );
    assert!(String::from_utf8_lossy(&taken.stderr).contains("already has an operator named ROOT"));
    let added = run(
        &[
            "--config",
            path.to_str().unwrap(),
            "operator",
            "add",
            "second",
        ],
        &twice,
    );
    assert!(added.status.success(), "{added:?}");
    let config = Config::load(["banterd", "--config", path.to_str().unwrap()]).unwrap();
    let names: Vec<&str> = config.operators.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["root", "second"]);
}

#[test]
fn a_bad_operator_table_is_one_clear_error() {
    let dir = tempfile::TempDir::new().unwrap();
    let path = dir.path().join("banter.toml");
    std::fs::write(
        &path,
        "[[operator]]\nname = \"root\"\nhash = \"plain text\"\n",
    )
    .unwrap();
    let err = Config::load(["banterd", "--config", path.to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the hash of operator root is not a PHC string"),
        "{err}"
    );
    std::fs::write(&path, "[[operator]]\nname = \"root\"\n").unwrap();
    let err = Config::load(["banterd", "--config", path.to_str().unwrap()])
        .unwrap_err()
        .to_string();
    assert!(err.contains("[[operator]] needs \"hash\""), "{err}");
}

#[tokio::test]
async fn a_notice_stays_a_notice_on_every_door_and_is_never_answered() {
    let server = server().await;
    let irc = server.irc.unwrap();
    let mut ann = IrcClient::register_with(irc, "ann", "echo-message").await;
    ann.send("JOIN #lobby").await;
    ann.lines_to(" 366 ").await;
    let mut bob = IrcClient::register(irc, "bob").await;
    bob.send("JOIN #lobby").await;
    bob.lines_to(" 366 ").await;
    let mut text = server.login("texty").await;
    let mut ws = WsClient::login(server.http.unwrap(), "webby").await;
    ws.ask(json!({"type":"join","room":"lobby"}), 1).await;
    ann.skip_to("JOIN #lobby").await;
    ann.send("NOTICE #lobby :the bot is back").await;
    ann.skip_to(":ann!ann@banter NOTICE #lobby :the bot is back")
        .await;
    bob.skip_to(":ann!ann@banter NOTICE #lobby :the bot is back")
        .await;
    text.expect_containing("[lobby] -ann- the bot is back")
        .await;
    let said = ws.until("message").await;
    assert_eq!(said["kind"], "notice", "{said}");
    assert_eq!(said["text"], "the bot is back");
    // Never an error for a NOTICE, not even to nowhere.
    ann.send("NOTICE #nowhere :hello").await;
    ann.send("NOTICE nobody :hello").await;
    ann.send("PING :after").await;
    let lines = ann.lines_to("PONG").await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn an_operator_bans_an_address_from_a_room_on_every_door_and_others_may_not() {
    let server = server().await;
    // Every test client connects from 127.0.0.1.
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    ann.send("JOIN #r").await;
    ann.skip_to(" 366 ").await;
    let mut nc = server.login("nc").await;
    nc.send(":cr r").await;
    nc.expect_prefix("you are now in r").await;
    let mut web = WsClient::login(server.http.unwrap(), "web").await;
    web.ask(json!({"type": "join", "room": "r"}), 1).await;
    ann.skip_to(":web!web@banter JOIN #r").await;
    // A host who is no operator gets the clear refusal.
    ann.send("MODE #r +b *!*@127.0.0.1").await;
    let notice = ann.expect_prefix(":banter NOTICE ann :MODE: ").await;
    assert!(
        notice.contains("only server operators may ban by address"),
        "{notice}"
    );
    ann.send(&format!("OPER root {PASSWORD}")).await;
    ann.skip_to(" MODE ann :+o").await;
    ann.send("MODE #r +b *!*@127.0.0.*").await;
    ann.expect(":ann!ann@banter MODE #r +b *!*@127.0.0.*").await;
    // Members from that address are removed, whatever their door (the
    // host who set it stays: bans spare hosts).
    nc.expect_containing("you were kicked from r by ann: banned (*!*@127.0.0.*)")
        .await;
    nc.expect_prefix("you are now in lobby").await;
    let kicked = web.until("kicked").await;
    assert_eq!(kicked["message"], "banned (*!*@127.0.0.*)", "{kicked}");
    // And kept out, under any name.
    nc.send(":cr r").await;
    nc.expect_past_notices("error: you are banned from r").await;
    let (refused, _) = web.ask(json!({"type": "join", "room": "r"}), 2).await;
    assert_eq!(refused["code"], "banned", "{refused}");
    let mut cy = IrcClient::register(server.irc.unwrap(), "cy").await;
    cy.send("JOIN #r").await;
    cy.expect(":banter 474 cy #r :Cannot join channel (+b)")
        .await;
    // The list shows it; the JSON door too.
    ann.skip_to(" KICK #r ").await;
    ann.send("MODE #r b").await;
    ann.skip_to(":banter 367 ann #r *!*@127.0.0.* ann ").await;
    ann.expect(":banter 368 ann #r :End of channel ban list")
        .await;
    // Lifted, they may come back.
    ann.send("MODE #r -b *!*@127.0.0.*").await;
    ann.skip_to(":ann!ann@banter MODE #r -b *!*@127.0.0.*")
        .await;
    nc.send(":cr r").await;
    nc.expect_past_notices("you are now in r").await;
    server.stop().await;
}

#[tokio::test]
async fn a_room_address_ban_survives_a_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    let config = config_file(dir.path());
    let data = dir.path().join("data");
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ];
    let mut server = Banterd::start(&args, &[]);
    let mut op = Client::connect(server.addr).await;
    op.skip_greeting().await;
    op.send("op").await;
    op.expect_prefix("hello ").await;
    text_oper(&mut op, PASSWORD).await;
    op.expect_prefix("you are now a server operator").await;
    op.send(":n r").await;
    op.expect("created room r; you are in it").await;
    op.send(":ban *!*@127.0.0.1").await;
    op.expect("* op banned *!*@127.0.0.1 from r").await;
    server.signal("TERM");
    op.expect_closed().await;
    assert!(server.wait_exit(Duration::from_secs(5)).success());

    let server = Banterd::start(&args, &[]);
    let mut nc = Client::connect(server.addr).await;
    nc.skip_greeting().await;
    nc.send("nc").await;
    nc.expect_prefix("hello ").await;
    nc.send(":cr r").await;
    nc.expect_past_notices("error: you are banned from r").await;
}

#[tokio::test]
async fn whois_on_the_text_door_shows_an_address_only_after_oper_and_refuses_unknown_names() {
    let server = server().await;
    let mut ann = server.login("ann").await;
    let mut bob = WsClient::login(server.http.unwrap(), "bob").await;
    bob.ask(json!({"type":"create","room":"games"}), 1).await;
    bob.ask(json!({"type":"join","room":"lobby"}), 2).await;
    ann.expect("* bob joined lobby").await;
    let mut cat = IrcClient::register(server.irc.unwrap(), "cat").await;
    cat.send("AWAY :at lunch").await;
    cat.expect_prefix(":banter 306 cat ").await;

    // :h lists it, and :h whois explains it.
    ann.send(":h").await;
    let help = ann.expect_containing("  :whois <name>").await;
    assert!(
        help.ends_with("who a user is: their rooms, away or not, server operator or not"),
        "{help}"
    );
    ann.expect_containing("anything else you type goes to your room")
        .await;
    ann.send(":h whois").await;
    ann.expect(":whois <name> - who a user is: their rooms, away or not, server operator or not")
        .await;
    ann.expect_prefix("  Shows the rooms <name> is in").await;
    ann.send(":whois BOB").await;
    ann.expect("bob: in games (host), lobby").await;
    ann.send(":whois cat").await;
    ann.expect("cat: in no rooms; away: at lunch").await;
    ann.send(":whois").await;
    ann.expect("error: :whois is missing <name>; usage: :whois <name>")
        .await;
    ann.send(":whois nobody").await;
    ann.expect("error: nobody named nobody is connected (see :who *)")
        .await;

    text_oper(&mut ann, PASSWORD).await;
    ann.expect("you are now a server operator (root); :h lists what operators may do")
        .await;
    ann.send(":whois bob").await;
    ann.expect("bob: in games (host), lobby; address 127.0.0.1")
        .await;
    // Others see that ann is an operator, never her address.
    let (seen, _) = bob.ask(json!({"type":"whois","name":"ann"}), 3).await;
    assert_eq!(
        seen,
        json!({"type":"whois","name":"ann","rooms":[{"room":"lobby","host":false}],
            "away":null,"operator":true,"address":null,"id":3})
    );
    server.stop().await;
}

#[tokio::test]
async fn whois_on_the_json_door_shows_an_address_only_to_an_operator() {
    let server = server().await;
    let mut ann = WsClient::login(server.http.unwrap(), "ann").await;
    let _carol = server.login("carol").await;
    let (seen, _) = ann.ask(json!({"type":"whois","name":"Carol"}), 1).await;
    assert_eq!(
        seen,
        json!({"type":"whois","name":"carol","rooms":[{"room":"lobby","host":false}],
            "away":null,"operator":false,"address":null,"id":1})
    );
    let (refused, _) = ann.ask(json!({"type":"whois","name":"nobody"}), 2).await;
    assert_eq!(refused["code"], "no_such_user", "{refused}");
    assert_eq!(refused["message"], "nobody named nobody is connected");
    let (bad, _) = ann.ask(json!({"type":"whois"}), 3).await;
    assert_eq!(bad["code"], "bad_request", "{bad}");

    let mut root = ws_operator(&server, "rooty").await;
    let (seen, _) = root.ask(json!({"type":"whois","name":"carol"}), 2).await;
    assert_eq!(seen["address"], "127.0.0.1", "{seen}");
    assert_eq!(seen["operator"], false, "{seen}");
    let (seen, _) = root.ask(json!({"type":"whois","name":"rooty"}), 3).await;
    assert_eq!(seen["operator"], true, "{seen}");
    assert_eq!(seen["rooms"], json!([]), "{seen}");
    server.stop().await;
}

#[tokio::test]
async fn whois_hides_a_secret_room_from_outsiders_and_shows_it_to_members() {
    let server = server().await;
    let mut host = WsClient::login(server.http.unwrap(), "host").await;
    host.ask(json!({"type":"create","room":"den"}), 1).await;
    host.ask(
        json!({"type":"set_mode","room":"den","mode":"secret","on":true}),
        2,
    )
    .await;
    host.ask(json!({"type":"create","room":"attic"}), 3).await;
    let mut member = server.login("member").await;
    member.send(":cr den").await;
    member
        .expect_prefix("you are now in den with 1 other")
        .await;
    let mut outsider = server.login("outsider").await;

    member.send(":whois host").await;
    member.expect("host: in attic (host), den (host)").await;
    outsider.send(":whois host").await;
    outsider.expect("host: in attic (host)").await;
    outsider.send(":whois member").await;
    outsider.expect("member: in no rooms").await;
    // Even an operator sees only what an outsider does of the room.
    let mut root = ws_operator(&server, "rooty").await;
    let (seen, _) = root.ask(json!({"type":"whois","name":"member"}), 2).await;
    assert_eq!(seen["rooms"], json!([]), "{seen}");
    assert_eq!(seen["address"], "127.0.0.1", "{seen}");
    server.stop().await;
}
