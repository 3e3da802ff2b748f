//! Wire tests of the IRC door over real sockets: registration and CAP, every
//! command with its error numerics, limits and hostile input, and IRC users
//! meeting nc users in the same rooms.

mod support;

use std::time::Duration;

use banter_server::config::OptionalAddr;
use banter_server::Config;
use serde_json::json;
use support::irc::IrcClient;
use support::ws::WsClient;
use support::TestServer;

const QUIET: Duration = Duration::from_millis(200);

async fn server_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(|config| {
        config.irc_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
        adjust(config);
    })
    .await
}

async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// Joins `channel` and reads up to the end of its names.
async fn join(client: &mut IrcClient, channel: &str) -> Vec<String> {
    client.send(&format!("JOIN {channel}")).await;
    client.lines_to(" 366 ").await
}

#[tokio::test]
async fn registration_sends_the_welcome_a_truthful_isupport_and_the_motd() {
    let server = server().await;
    let mut ann = IrcClient::connect(server.irc.unwrap()).await;
    ann.send("PASS ignored").await;
    ann.send("NICK ann").await;
    ann.send("USER ann 0 * :Ann Example").await;
    let lines = ann.lines_to(" 376 ").await;
    let codes: Vec<&str> = lines
        .iter()
        .map(|line| line.split(' ').nth(1).unwrap())
        .collect();
    assert_eq!(
        codes,
        ["001", "002", "003", "004", "005", "375", "372", "372", "372", "376"]
    );
    assert_eq!(
        lines[0],
        ":banter 001 ann :Welcome to banter, ann!ann@banter"
    );
    for token in [
        "CHANTYPES=#",
        "NICKLEN=24",
        "CHANNELLEN=33",
        "PREFIX=(ov)@+",
        "USERLEN=10",
        "CHANMODES=b,k,,imnst",
        "MAXLIST=b:100",
        "CASEMAPPING=ascii",
        "NETWORK=banter",
    ] {
        assert!(
            lines[4].contains(&format!(" {token} ")),
            "{token}: {}",
            lines[4]
        );
    }
    ann.send("MOTD").await;
    ann.expect_prefix(":banter 375 ann ").await;
    ann.skip_to(" 376 ").await;
    server.stop().await;
}

#[tokio::test]
async fn cap_negotiation_holds_registration_until_cap_end() {
    let server = server().await;
    let mut ann = IrcClient::connect(server.irc.unwrap()).await;
    ann.send("CAP LS 302").await;
    ann.expect(
        ":banter CAP * LS :away-notify echo-message invite-notify multi-prefix server-time userhost-in-names",
    )
    .await;
    ann.send("NICK ann").await;
    ann.send("USER ann 0 * :Ann").await;
    ann.send("CAP REQ :server-time sasl").await;
    ann.expect(":banter CAP * NAK :server-time sasl").await;
    ann.send("CAP REQ :server-time multi-prefix").await;
    ann.expect(":banter CAP * ACK :server-time multi-prefix")
        .await;
    ann.send("CAP LIST").await;
    ann.expect(":banter CAP * LIST :multi-prefix server-time")
        .await;
    ann.send("CAP FOO").await;
    ann.expect(":banter 410 * FOO :Invalid CAP command").await;
    ann.expect_silence(QUIET).await;
    ann.send("CAP END").await;
    ann.expect_prefix(":banter 001 ann ").await;
    server.stop().await;
}

#[tokio::test]
async fn pipelined_lines_are_all_answered_in_order() {
    let server = server().await;
    let mut bot = IrcClient::connect(server.irc.unwrap()).await;
    // Everything at once, before reading anything, as senpai and bots do.
    bot.send_raw(
        b"CAP LS 302\r\nNICK bot\r\nUSER bot 0 * :Bot\r\nCAP REQ :echo-message\r\nCAP END\r\n\
          JOIN #pipe\r\nPRIVMSG #pipe :first\r\nPING :done\r\n",
    )
    .await;
    bot.expect_prefix(":banter CAP * LS ").await;
    bot.expect(":banter CAP * ACK :echo-message").await;
    bot.expect_prefix(":banter 001 bot ").await;
    bot.skip_to(" 376 ").await;
    bot.expect(":bot!bot@banter JOIN #pipe").await;
    bot.expect(":banter 353 bot = #pipe :@bot").await;
    bot.expect(":banter 366 bot #pipe :End of /NAMES list")
        .await;
    bot.expect(":bot!bot@banter PRIVMSG #pipe :first").await;
    bot.expect(":banter PONG banter :done").await;
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_ends_cap_is_dropped_at_the_registration_timeout() {
    let server = server_with(|config| config.registration_timeout = 1).await;
    let mut ann = IrcClient::connect(server.irc.unwrap()).await;
    ann.send("CAP LS 302").await;
    ann.send("NICK ann").await;
    ann.send("USER ann 0 * :Ann").await;
    ann.expect_prefix(":banter CAP * LS ").await;
    let rest = ann.expect_closed().await;
    assert_eq!(
        rest,
        ["ERROR :Closing link: registration timed out (1 s without NICK, USER and CAP END)"]
    );
    server.stop().await;
}

#[tokio::test]
async fn nicks_follow_banters_rules_and_errors_are_numerics() {
    let server = server_with(|config| config.rate_limit = 0).await;
    let _alice = server.login("alice").await;
    let mut irc = IrcClient::connect(server.irc.unwrap()).await;
    irc.send("JOIN #early").await;
    irc.expect(":banter 451 * :You have not registered").await;
    irc.send("NICK").await;
    irc.expect(":banter 431 * :No nickname given").await;
    irc.send("NICK bad.name").await;
    irc.expect_prefix(":banter 432 * bad.name :Erroneous nickname: ")
        .await;
    irc.send(&format!("NICK {}", "n".repeat(25))).await;
    irc.expect_prefix(":banter 432 * ").await;
    irc.send("NICK ALICE").await;
    irc.expect(":banter 433 * ALICE :Nickname is already in use")
        .await;
    irc.send("USER x 0 *").await;
    irc.expect(":banter 461 * USER :Not enough parameters")
        .await;
    irc.send("NICK carol").await;
    irc.send("USER carol 0 * :Carol").await;
    irc.expect_prefix(":banter 001 carol ").await;
    irc.skip_to(" 376 ").await;
    irc.send("FROB x").await;
    irc.expect(":banter 421 carol FROB :Unknown command").await;
    irc.send("USER again 0 * :x").await;
    irc.expect(":banter 462 carol :You may not reregister")
        .await;
    for (line, want) in [
        ("JOIN", ":banter 461 carol JOIN :Not enough parameters"),
        ("KICK #x", ":banter 461 carol KICK :Not enough parameters"),
        ("PRIVMSG", ":banter 411 carol :No recipient given (PRIVMSG)"),
        ("PRIVMSG #x", ":banter 412 carol :No text to send"),
        ("JOIN games", ":banter 403 carol games :No such channel"),
        ("JOIN #bad/name", ":banter 479 carol #bad/name :Illegal channel name: a room name may only contain letters, digits, '_', '-' and '.' (found '/')"),
        ("PRIVMSG #nowhere :hi", ":banter 403 carol #nowhere :No such channel"),
        ("PRIVMSG #lobby :hi", ":banter 404 carol #lobby :Cannot send to channel"),
        ("TOPIC #lobby", ":banter 442 carol #lobby :You're not on that channel"),
        ("PART #lobby", ":banter 442 carol #lobby :You're not on that channel"),
        ("PRIVMSG nobody :hi", ":banter 401 carol nobody :No such nick/channel"),
        ("NICK alice", ":banter 433 carol alice :Nickname is already in use"),
        ("MODE #nowhere", ":banter 403 carol #nowhere :No such channel"),
        ("MODE alice +i", ":banter 502 carol :Can't change or view modes for other users"),
    ] {
        irc.send(line).await;
        irc.expect(want).await;
    }
    // A NOTICE never gets an error back.
    irc.send("NOTICE nobody :hi").await;
    irc.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn joining_a_new_channel_makes_the_room_and_its_creator_chanop() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let lines = join(&mut ann, "#games").await;
    assert_eq!(
        lines,
        [
            ":ann!ann@banter JOIN #games",
            ":banter 353 ann = #games :@ann",
            ":banter 366 ann #games :End of /NAMES list",
        ]
    );
    // What irssi asks after every JOIN before it calls the channel synced.
    ann.send("MODE #games").await;
    ann.expect(":banter 324 ann #games +nt").await;
    ann.expect_prefix(":banter 329 ann #games ").await;
    ann.send("WHO #games").await;
    ann.expect(":banter 352 ann #games ann banter * ann H@ :0 ann Test")
        .await;
    ann.expect(":banter 315 ann #games :End of /WHO list").await;
    ann.send("MODE #games b").await;
    ann.expect(":banter 368 ann #games :End of channel ban list")
        .await;
    // MODE takes one channel (TARGMAX MODE:1): setting a key costs a hash.
    ann.send("MODE #games,#nowhere").await;
    ann.expect(":banter 407 ann #nowhere :Too many targets")
        .await;
    ann.send("MODE #nowhere").await;
    ann.expect(":banter 403 ann #nowhere :No such channel")
        .await;
    ann.send("MODE #games +x").await;
    ann.expect(":banter 472 ann x :is unknown mode char to me")
        .await;
    ann.send("MODE ann").await;
    ann.expect(":banter 221 ann +").await;
    ann.send("MODE ann +iw").await;
    ann.expect(":ann!ann@banter MODE ann :+i").await;
    ann.expect(":banter 501 ann :Unknown MODE flag").await;

    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    let lines = join(&mut bob, "#GAMES,#lobby").await;
    assert_eq!(
        lines,
        [
            ":bob!bob@banter JOIN #games",
            ":banter 353 bob = #games :@ann bob",
            ":banter 366 bob #games :End of /NAMES list",
        ]
    );
    bob.skip_to(" 366 bob #lobby ").await;
    ann.expect(":bob!bob@banter JOIN #games").await;
    bob.send("NAMES #games").await;
    bob.expect(":banter 353 bob = #games :@ann bob").await;
    bob.expect(":banter 366 bob #games :End of /NAMES list")
        .await;
    bob.send("PART #games").await;
    bob.expect(":bob!bob@banter PART #games").await;
    ann.expect(":bob!bob@banter PART #games").await;
    server.stop().await;
}

#[tokio::test]
async fn irc_and_nc_users_talk_in_the_same_room() {
    let server = server().await;
    let mut alice = server.login("alice").await;
    alice.send(":new games").await;
    alice.expect_prefix("created room games").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    let lines = join(&mut bob, "#games").await;
    assert_eq!(lines[1], ":banter 353 bob = #games :@alice bob");
    alice.expect("* bob joined games").await;

    bob.send("PRIVMSG #games :hi").await;
    alice.expect("[games] bob: hi").await;
    alice.send("hello bob").await;
    bob.expect(":alice!alice@banter PRIVMSG #games :hello bob")
        .await;
    bob.send("PRIVMSG #games :\x01ACTION waves\x01").await;
    alice.expect("[games] * bob waves").await;
    alice.send(":me bows").await;
    alice.expect("[games] * alice bows").await;
    bob.expect(":alice!alice@banter PRIVMSG #games :\x01ACTION bows\x01")
        .await;
    // IRC formatting and terminal escapes never reach an nc screen.
    bob.send("PRIVMSG #games :\x02bold\x02 \x0304red\x03 \x1b[2J")
        .await;
    alice.expect("[games] bob: bold red [2J").await;

    // Privately, both ways.
    bob.send("PRIVMSG alice :psst").await;
    alice.expect("[private] bob: psst").await;
    alice.send(":msg bob hush").await;
    alice.expect("[private to bob] hush").await;
    bob.expect(":alice!alice@banter PRIVMSG bob :hush").await;

    // `:erm` from another room arrives marked with that room.
    let mut carol = server.login("carol").await;
    carol.send(":erm games hello from the lobby").await;
    carol.expect_prefix("sent to games").await;
    bob.expect(":carol!carol@banter PRIVMSG #games :(from #lobby) hello from the lobby")
        .await;
    alice.expect_prefix("[games] carol@lobby:").await;

    // Names, topics, hosts and departures, each in its door's own form.
    alice.send(":topic dice night").await;
    bob.expect(":alice!alice@banter TOPIC #games :dice night")
        .await;
    alice.expect_prefix("* alice set the topic").await;
    bob.send("NICK robert").await;
    bob.expect(":bob!bob@banter NICK :robert").await;
    alice.expect("* bob is now known as robert").await;
    alice.send(":hostadd robert").await;
    bob.expect(":alice!alice@banter MODE #games +o robert")
        .await;
    alice.expect_prefix("* alice made robert a host").await;
    alice.send(":exit").await;
    bob.expect(":alice!alice@banter QUIT :Quit").await;
    server.stop().await;
}

#[tokio::test]
async fn echo_message_returns_each_message_exactly_as_the_room_got_it() {
    let server = server().await;
    let mut ann =
        IrcClient::register_with(server.irc.unwrap(), "ann", "echo-message server-time").await;
    let mut bob = IrcClient::register_with(server.irc.unwrap(), "bob", "server-time").await;
    join(&mut ann, "#echo").await;
    join(&mut bob, "#echo").await;
    ann.skip_to("JOIN #echo").await;
    ann.send("PRIVMSG #echo :hello there").await;
    let echoed = ann.line().await;
    let got = bob.line().await;
    assert_eq!(echoed, got);
    assert!(
        echoed.starts_with("@time=")
            && echoed.ends_with(" :ann!ann@banter PRIVMSG #echo :hello there"),
        "{echoed}"
    );
    ann.send("NOTICE #echo :a notice").await;
    let echoed = ann.line().await;
    assert!(
        echoed.ends_with(" :ann!ann@banter NOTICE #echo :a notice"),
        "{echoed}"
    );
    bob.expect_prefix("@time=").await;
    ann.send("PRIVMSG bob :just you").await;
    let echoed = ann.line().await;
    assert!(
        echoed.ends_with(" :ann!ann@banter PRIVMSG bob :just you"),
        "{echoed}"
    );
    let got = bob.line().await;
    assert!(
        got.ends_with(" :ann!ann@banter PRIVMSG bob :just you"),
        "{got}"
    );
    // Without echo-message nothing comes back.
    bob.send("PRIVMSG #echo :quiet").await;
    bob.expect_silence(QUIET).await;
    ann.expect_prefix("@time=").await;
    server.stop().await;
}

#[tokio::test]
async fn history_on_join_comes_with_server_time_and_not_without() {
    let server = server().await;
    let mut alice = server.login("alice").await;
    alice.send(":new past").await;
    alice.expect_prefix("created room past").await;
    alice.send("first").await;
    alice.send("second").await;
    let mut timed = IrcClient::register_with(server.irc.unwrap(), "timed", "server-time").await;
    timed.send("JOIN #past").await;
    let lines = timed.lines_to(" 366 ").await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    let first = timed.line().await;
    let second = timed.line().await;
    assert!(
        first.starts_with("@time=20")
            && first.ends_with("Z :alice!alice@banter PRIVMSG #past :first"),
        "{first}"
    );
    assert!(
        second.ends_with(" :alice!alice@banter PRIVMSG #past :second"),
        "{second}"
    );
    let mut plain = IrcClient::register(server.irc.unwrap(), "plain").await;
    join(&mut plain, "#past").await;
    plain.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn topic_needs_a_host_and_is_shown_to_everyone() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    join(&mut ann, "#t").await;
    join(&mut bob, "#t").await;
    ann.skip_to("JOIN #t").await;
    bob.send("TOPIC #t").await;
    bob.expect(":banter 331 bob #t :No topic is set").await;
    bob.send("TOPIC #t :mine").await;
    bob.expect(":banter 482 bob #t :You're not channel operator")
        .await;
    ann.send("TOPIC #t :dice at nine").await;
    ann.expect(":ann!ann@banter TOPIC #t :dice at nine").await;
    bob.expect(":ann!ann@banter TOPIC #t :dice at nine").await;
    bob.send("TOPIC #t").await;
    bob.expect(":banter 332 bob #t :dice at nine").await;
    bob.expect_prefix(":banter 333 bob #t ann ").await;
    bob.send("LIST").await;
    let lines = bob.lines_to(" 323 ").await;
    assert!(
        lines.contains(&":banter 322 bob #t 2 :dice at nine".to_owned()),
        "{lines:?}"
    );
    assert_eq!(lines[0], ":banter 321 bob Channel :Users  Name");
    let mut carol = IrcClient::register(server.irc.unwrap(), "carol").await;
    let lines = join(&mut carol, "#t").await;
    assert_eq!(lines[1], ":banter 332 carol #t :dice at nine");
    carol.expect_prefix(":banter 333 carol #t ann ").await;
    server.stop().await;
}

#[tokio::test]
async fn a_key_locks_a_channel_and_is_never_shown() {
    const KEY: &str = "s3cret-key";
    let server = server().await;
    let mut alice = server.login("alice").await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#vault").await;
    alice.send(":cr vault").await;
    alice.expect_prefix("you are now in vault").await;
    ann.skip_to("JOIN #vault").await;
    ann.send("MODE #vault +k").await;
    ann.expect(":banter 461 ann MODE :Not enough parameters")
        .await;
    ann.send(&format!("MODE #vault +k {KEY}")).await;
    let set = ann.line().await;
    assert_eq!(set, ":ann!ann@banter MODE #vault +k *");
    alice.expect("* ann locked vault with a password").await;
    ann.send("MODE #vault").await;
    ann.expect(":banter 324 ann #vault +knt").await;
    ann.line().await;

    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    bob.send("MODE #vault +k other").await;
    bob.expect(":banter 442 bob #vault :You're not on that channel")
        .await;
    bob.send("JOIN #vault").await;
    bob.expect(":banter 475 bob #vault :Cannot join channel (+k)")
        .await;
    bob.send("JOIN #vault wrong1").await;
    bob.expect(":banter 475 bob #vault :Cannot join channel (+k)")
        .await;
    bob.send("JOIN #vault wrong2").await;
    bob.expect(":banter 475 bob #vault :Cannot join channel (+k)")
        .await;
    bob.send("JOIN #vault wrong3").await;
    bob.expect(":banter 475 bob #vault :Cannot join channel (+k)")
        .await;
    bob.send(&format!("JOIN #vault {KEY}")).await;
    bob.expect_prefix(
        ":banter 475 bob #vault :Cannot join channel (+k): too many wrong keys, try again in ",
    )
    .await;

    let mut carol = IrcClient::register(server.irc.unwrap(), "carol").await;
    let lines = join(&mut carol, &format!("#vault {KEY}")).await;
    assert_eq!(lines[0], ":carol!carol@banter JOIN #vault");
    assert!(lines.iter().all(|line| !line.contains(KEY)));
    ann.expect(":carol!carol@banter JOIN #vault").await;
    ann.send("MODE #vault -k").await;
    ann.expect(":ann!ann@banter MODE #vault -k *").await;
    carol.expect(":ann!ann@banter MODE #vault -k *").await;
    server.stop().await;
}

#[tokio::test]
async fn hosts_are_chanops_who_give_ops_kick_and_invite() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    let mut carol = IrcClient::register(server.irc.unwrap(), "carol").await;
    join(&mut ann, "#club").await;
    join(&mut bob, "#club").await;
    ann.skip_to("JOIN #club").await;
    bob.send("KICK #club ann").await;
    bob.expect(":banter 482 bob #club :You're not channel operator")
        .await;
    carol.send("KICK #club bob").await;
    carol
        .expect(":banter 442 carol #club :You're not on that channel")
        .await;
    ann.send("KICK #club carol").await;
    ann.expect(":banter 441 ann carol #club :They aren't on that channel")
        .await;
    ann.send("MODE #club +o bob").await;
    ann.expect(":ann!ann@banter MODE #club +o bob").await;
    bob.expect(":ann!ann@banter MODE #club +o bob").await;
    bob.send("NAMES #club").await;
    bob.expect(":banter 353 bob = #club :@ann @bob").await;
    bob.line().await;
    ann.send("KICK #club bob").await;
    ann.expect(":banter 482 ann #club :bob is a channel operator; take their +o first")
        .await;
    ann.send("MODE #club -o bob").await;
    ann.expect(":ann!ann@banter MODE #club -o bob").await;
    bob.expect(":ann!ann@banter MODE #club -o bob").await;
    ann.send("KICK #club bob :out you go").await;
    ann.expect(":ann!ann@banter KICK #club bob :out you go")
        .await;
    bob.expect(":ann!ann@banter KICK #club bob :out you go")
        .await;
    bob.send("PRIVMSG #club :back?").await;
    bob.expect(":banter 404 bob #club :Cannot send to channel")
        .await;

    // An invitation lets one in past the key, once.
    ann.send("MODE #club +k k3y").await;
    ann.line().await;
    ann.send("INVITE carol #club").await;
    ann.expect(":banter 341 ann carol #club").await;
    carol.expect(":ann!ann@banter INVITE carol #club").await;
    let lines = join(&mut carol, "#club").await;
    assert_eq!(lines[0], ":carol!carol@banter JOIN #club");
    ann.expect(":carol!carol@banter JOIN #club").await;
    ann.send("INVITE carol #club").await;
    ann.expect(":banter 443 ann carol #club :is already on channel")
        .await;
    ann.send("INVITE nobody #club").await;
    ann.expect(":banter 401 ann nobody :No such nick/channel")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn who_whois_ison_userhost_and_away() {
    let server = server().await;
    let _alice = server.login("alice").await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#w").await;
    ann.send("WHO alice").await;
    ann.expect(":banter 352 ann * alice banter * alice H :0 alice")
        .await;
    ann.expect(":banter 315 ann alice :End of /WHO list").await;
    ann.send("WHOIS ann").await;
    ann.expect(":banter 311 ann ann ann banter * :ann Test")
        .await;
    ann.expect(":banter 319 ann ann :@#w").await;
    ann.expect(":banter 312 ann ann banter :banter chat server")
        .await;
    ann.expect(":banter 318 ann ann :End of /WHOIS list").await;
    ann.send("WHOIS alice").await;
    ann.expect(":banter 311 ann alice alice banter * :alice")
        .await;
    ann.expect(":banter 319 ann alice :#lobby").await;
    ann.skip_to(" 318 ").await;
    // USER's username and real name, made safe, are what WHO and WHOIS show.
    let mut carol = IrcClient::connect(server.irc.unwrap()).await;
    carol.send("NICK carol").await;
    carol
        .send("USER c@rol_long_name 0 * :Carol \x02Q\x02 Example")
        .await;
    carol.skip_to(" 376 ").await;
    ann.send("WHOIS carol").await;
    ann.expect(":banter 311 ann carol crol_long_ banter * :Carol Q Example")
        .await;
    ann.skip_to(" 318 ").await;
    ann.send("WHO carol").await;
    ann.expect(":banter 352 ann * crol_long_ banter * carol H :0 Carol Q Example")
        .await;
    ann.skip_to(" 315 ").await;
    ann.send("WHOIS ghost").await;
    ann.expect(":banter 401 ann ghost :No such nick/channel")
        .await;
    ann.expect(":banter 318 ann ghost :End of /WHOIS list")
        .await;
    ann.send("ISON alice ghost ANN").await;
    ann.expect(":banter 303 ann :alice ann").await;
    ann.send("USERHOST alice").await;
    ann.expect(":banter 302 ann :alice=+alice@banter").await;
    ann.send("AWAY :lunch").await;
    ann.expect(":banter 306 ann :You have been marked as being away")
        .await;
    // Others see it: G in WHO, 301 in WHOIS and when they message ann.
    carol.send("PRIVMSG ann :are you there?").await;
    carol.expect(":banter 301 carol ann :lunch").await;
    ann.expect(":carol!carol@banter PRIVMSG ann :are you there?")
        .await;
    carol.send("WHO ann").await;
    carol
        .expect(":banter 352 carol * ann banter * ann G :0 ann Test")
        .await;
    carol.skip_to(" 315 ").await;
    carol.send("WHOIS ann").await;
    let whois = carol.lines_to(" 318 ").await;
    assert!(
        whois.contains(&":banter 301 carol ann :lunch".to_owned()),
        "{whois:?}"
    );
    carol.send("USERHOST ann alice").await;
    carol
        .expect(":banter 302 carol :ann=-ann@banter alice=+alice@banter")
        .await;
    ann.send("AWAY").await;
    ann.expect(":banter 305 ann :You are no longer marked as being away")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn a_quit_in_several_shared_rooms_is_one_quit() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    join(&mut ann, "#a,#b").await;
    ann.lines_to(" 366 ann #b ").await;
    join(&mut bob, "#a,#b").await;
    bob.lines_to(" 366 bob #b ").await;
    ann.expect(":bob!bob@banter JOIN #a").await;
    ann.expect(":bob!bob@banter JOIN #b").await;
    bob.send("NICK bobby").await;
    ann.expect(":bob!bob@banter NICK :bobby").await;
    bob.send("QUIT :bye").await;
    assert_eq!(
        bob.expect_closed().await,
        [":bob!bob@banter NICK :bobby", "ERROR :Closing link (Quit)"]
    );
    ann.expect(":bobby!bobby@banter QUIT :Quit: bye").await;
    ann.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn pings_go_both_ways_and_a_silent_client_is_dropped() {
    let server = server_with(|config| config.irc_ping_interval = 1).await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    ann.send("PING :abc").await;
    ann.expect(":banter PONG banter :abc").await;
    ann.send("PING").await;
    ann.expect(":banter 409 ann :No origin specified").await;
    ann.expect("PING :banter").await;
    ann.send("PONG :banter").await;
    ann.expect("PING :banter").await;
    assert_eq!(
        ann.expect_closed().await,
        ["ERROR :Closing link: ping timeout"]
    );
    server.stop().await;
}

#[tokio::test]
async fn over_long_lines_are_refused_and_lose_nothing_else() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#long").await;
    ann.send(&format!("PRIVMSG #long :{}", "x".repeat(600)))
        .await;
    ann.expect(":banter 417 ann :Input line was too long").await;
    // A line that never ends: refused once, never buffered.
    let chunk = vec![b'y'; 16 * 1024];
    for _ in 0..4 {
        ann.send_raw(&chunk).await;
    }
    ann.send_raw(b"\r\nPING :still-here\r\n").await;
    ann.expect(":banter 417 ann :Input line was too long").await;
    ann.expect(":banter PONG banter :still-here").await;
    // Tags may be long; the body still has its own limit.
    ann.send(&format!("@{} PING :tagged", "a=b;".repeat(1000)))
        .await;
    ann.expect(":banter PONG banter :tagged").await;
    // Invalid UTF-8 is repaired, not fatal.
    ann.send_raw(b"PING :\xff\xfe\r\n").await;
    ann.expect(":banter PONG banter :\u{fffd}\u{fffd}").await;
    server.stop().await;
}

#[tokio::test]
async fn a_flooding_client_is_slowed_then_dropped() {
    let server = server_with(|config| {
        config.rate_limit = 50;
        config.rate_burst = 5;
        config.flood_disconnect = 10;
    })
    .await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let flood = "PING :x\r\n".repeat(400);
    ann.send_raw(flood.as_bytes()).await;
    let lines = ann.expect_closed().await;
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with(":banter NOTICE ann :slow down")),
        "{lines:?}"
    );
    assert_eq!(lines.last().unwrap(), "ERROR :Closing link: excess flood");
    let mut other = IrcClient::register(server.irc.unwrap(), "other").await;
    other.send("PING :fine").await;
    other.expect(":banter PONG banter :fine").await;
    server.stop().await;
}

#[tokio::test]
async fn the_server_full_refusal_is_an_irc_error_line() {
    let server = server_with(|config| config.max_connections = 1).await;
    let _ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut late = IrcClient::connect(server.irc.unwrap()).await;
    let lines = late.expect_closed().await;
    assert_eq!(
        lines,
        ["ERROR :the server is full (1 connections); try again later"]
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_says_so_and_part_and_join_zero_leave_rooms() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#x,#y").await;
    ann.lines_to(" 366 ann #y ").await;
    ann.send("JOIN 0").await;
    ann.expect(":ann!ann@banter PART #x").await;
    ann.expect(":ann!ann@banter PART #y").await;
    server.stop().await;
    assert_eq!(
        ann.expect_closed().await,
        ["ERROR :The server is shutting down"]
    );
}

#[tokio::test]
async fn userhost_in_names_lists_full_masks() {
    let server = server().await;
    let mut ann = IrcClient::register_with(server.irc.unwrap(), "ann", "userhost-in-names").await;
    let lines = join(&mut ann, "#masks").await;
    assert_eq!(lines[1], ":banter 353 ann = #masks :@ann!ann@banter");
    ann.send("NAMES #masks").await;
    ann.expect(":banter 353 ann = #masks :@ann!ann@banter")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn websocket_users_meet_irc_users_and_long_lines_are_split_safely() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#mixed").await;
    let mut bot = WsClient::login(server.http.unwrap(), "bot").await;
    bot.ask(json!({"type": "join", "room": "mixed"}), 1).await;
    ann.expect(":bot!bot@banter JOIN #mixed").await;
    // A WebSocket message may be far longer than an IRC line: it arrives
    // as several lines.
    let text = "y".repeat(600);
    bot.ask(json!({"type": "say", "room": "mixed", "text": text}), 2)
        .await;
    ann.expect(&format!(
        ":bot!bot@banter PRIVMSG #mixed :{}",
        "y".repeat(510)
    ))
    .await;
    ann.expect(&format!(
        ":bot!bot@banter PRIVMSG #mixed :{}",
        "y".repeat(90)
    ))
    .await;
    ann.send("PRIVMSG #mixed :hello bot").await;
    let said = bot.until("message").await;
    assert_eq!(said["from"], "ann");
    assert_eq!(said["text"], "hello bot");
    server.stop().await;
}

#[tokio::test]
async fn invite_time_who_masks_and_bad_keys() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    join(&mut ann, "#inv").await;
    join(&mut bob, "#inv").await;
    ann.skip_to("JOIN #inv").await;
    ann.send("INVITE nobody #inv").await;
    ann.expect(":banter 401 ann nobody :No such nick/channel")
        .await;
    ann.send("INVITE bob #inv").await;
    ann.expect(":banter 443 ann bob #inv :is already on channel")
        .await;
    ann.send("INVITE annie #inv").await;
    ann.expect(":banter 401 ann annie :No such nick/channel")
        .await;
    ann.send("MODE #inv +o nobody").await;
    ann.expect(":banter 401 ann nobody :No such nick/channel")
        .await;
    ann.send("MODE #inv +k :two words").await;
    ann.expect(":banter 525 ann #inv :Key is not well-formed")
        .await;
    ann.send("MODE #inv +k :").await;
    ann.expect(":banter 525 ann #inv :Key is not well-formed")
        .await;
    ann.send("TIME").await;
    ann.expect_prefix(":banter 391 ann banter :20").await;
    ann.send("WHO b?b").await;
    ann.expect(":banter 352 ann * bob banter * bob H :0 bob Test")
        .await;
    ann.expect(":banter 315 ann b?b :End of /WHO list").await;
    ann.send("WHO *").await;
    let lines = ann.lines_to(" 315 ").await;
    assert_eq!(lines.len(), 3, "{lines:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_room_limit_per_user_is_405_and_nul_bytes_are_harmless() {
    let server = server_with(|config| config.max_rooms_per_user = 2).await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    ann.send("JOIN #a,#b,#c").await;
    ann.lines_to(" 366 ann #a ").await;
    ann.lines_to(" 366 ann #b ").await;
    ann.expect(":banter 405 ann #c :You have joined too many channels")
        .await;
    ann.send_raw(b"PRIVMSG #a :nul\0here\r\n").await;
    ann.send("PING :after").await;
    ann.expect(":banter PONG banter :after").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    join(&mut bob, "#a").await;
    ann.expect(":bob!bob@banter JOIN #a").await;
    ann.send_raw(b"PRIVMSG #a :nul\0here\r\n").await;
    bob.expect(":ann!ann@banter PRIVMSG #a :nulhere").await;
    server.stop().await;
}

#[tokio::test]
async fn the_server_signs_its_lines_with_its_configured_name() {
    let server = server_with(|config| config.irc_server_name = "irc.example.org".into()).await;
    let mut ann = IrcClient::connect(server.irc.unwrap()).await;
    ann.send("NICK ann").await;
    ann.send("USER ann 0 * :Ann").await;
    ann.expect(":irc.example.org 001 ann :Welcome to banter, ann!ann@banter")
        .await;
    ann.skip_to(" 376 ").await;
    ann.send("PING :x").await;
    ann.expect(":irc.example.org PONG irc.example.org :x").await;
    server.stop().await;
}

#[tokio::test]
async fn part_and_quit_messages_reach_every_door() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut alice = server.login("alice").await;
    alice.send(":new games").await;
    alice.expect_prefix("created room games").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    let mut carol = IrcClient::register(server.irc.unwrap(), "carol").await;
    join(&mut bob, "#games").await;
    join(&mut carol, "#games").await;
    bob.skip_to("JOIN #games").await;
    let mut web = WsClient::connect(server.http.unwrap()).await;
    web.send(json!({"type": "hello", "name": "web", "id": 1}))
        .await;
    web.until("welcome").await;
    web.send(json!({"type": "join", "room": "games", "id": 2}))
        .await;
    web.until("joined").await;
    alice.expect("* bob joined games").await;
    alice.expect("* carol joined games").await;
    alice.expect("* web joined games").await;

    // A part message, with IRC formatting taken out for the other doors.
    bob.send("PART #games :\x02off\x02 to lunch").await;
    let parted = bob.skip_to(" PART ").await;
    assert_eq!(parted, ":bob!bob@banter PART #games :off to lunch");
    let seen = carol.skip_to(" PART ").await;
    assert_eq!(seen, ":bob!bob@banter PART #games :off to lunch");
    alice.expect("* bob left games (off to lunch)").await;
    let left = web.until("member_left").await;
    assert_eq!(left["reason"], "parted");
    assert_eq!(left["message"], "off to lunch");

    // A quit message, seen by an IRC user still in the room; a bare QUIT says
    // nothing more than before.
    let mut dave = IrcClient::register(server.irc.unwrap(), "dave").await;
    join(&mut dave, "#games").await;
    alice.expect("* dave joined games").await;
    carol.send("QUIT :gone fishing").await;
    alice.expect("* carol left the chat (gone fishing)").await;
    let quit = dave.skip_to(" QUIT ").await;
    assert_eq!(quit, ":carol!carol@banter QUIT :Quit: gone fishing");
    let left = web.until("member_left").await;
    assert_eq!(left["reason"], "quit");
    assert_eq!(left["message"], "gone fishing");

    // The JSON door parts with a message too.
    web.send(json!({"type": "part", "room": "games", "message": "brb", "id": 3}))
        .await;
    let seen = dave.skip_to(" PART ").await;
    assert_eq!(seen, ":web!web@banter PART #games :brb");
    alice.expect("* web left games (brb)").await;
    dave.send("QUIT").await;
    alice.expect("* dave left the chat").await;
    server.stop().await;
}

#[tokio::test]
async fn a_nick_that_quit_before_is_shown_quitting_again_after_a_join_lists_it() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#lobby").await;
    let mut bob = server.login("bob").await;
    ann.expect(":bob!bob@banter JOIN #lobby").await;
    bob.send(":exit").await;
    ann.expect(":bob!bob@banter QUIT :Quit").await;

    // Another bob, already in a room when ann joins it: only NAMES lists him.
    let mut bob = server.login("bob:den").await;
    bob.expect_containing("den").await;
    let names = join(&mut ann, "#den").await;
    assert_eq!(names[1], ":banter 353 ann = #den :@bob ann");
    bob.send(":exit").await;
    ann.expect(":bob!bob@banter QUIT :Quit").await;
    server.stop().await;
}

#[tokio::test]
async fn names_of_several_channels_ends_with_one_366_for_the_list() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#one").await;
    join(&mut ann, "#two").await;
    ann.send("NAMES #one,#two,#nowhere").await;
    ann.expect(":banter 353 ann = #one :@ann").await;
    ann.expect(":banter 353 ann = #two :@ann").await;
    ann.expect(":banter 366 ann #one,#two,#nowhere :End of /NAMES list")
        .await;
    ann.send("NAMES #one,#two,#three,#four,#five").await;
    ann.expect(":banter 407 ann #five :Too many targets").await;
    server.stop().await;
}

#[tokio::test]
async fn away_notify_tells_channel_mates_once_and_no_one_else() {
    let server = server().await;
    let mut ann = IrcClient::register_with(server.irc.unwrap(), "ann", "away-notify").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    let mut plain = IrcClient::register(server.irc.unwrap(), "plain").await;
    let mut nc = server.login("nadia").await;
    join(&mut ann, "#a,#b").await;
    ann.lines_to(" 366 ann #b ").await;
    join(&mut plain, "#a").await;
    join(&mut bob, "#a,#b").await;
    bob.lines_to(" 366 bob #b ").await;
    ann.skip_to(":bob!bob@banter JOIN #b").await;
    plain.skip_to(":bob!bob@banter JOIN #a").await;
    nc.send(":cr a").await;
    nc.expect_past_notices("you are now in a").await;
    bob.skip_to(":nadia!nadia@banter JOIN #a").await;
    ann.skip_to(":nadia!nadia@banter JOIN #a").await;
    plain.skip_to(":nadia!nadia@banter JOIN #a").await;

    // Two shared channels, one AWAY line; the client without the cap and
    // the nc user hear nothing of it.
    bob.send("AWAY :out \u{2}to\u{2} lunch").await;
    bob.skip_to(" 306 ").await;
    ann.expect(":bob!bob@banter AWAY :out to lunch").await;
    bob.send("AWAY").await;
    bob.skip_to(" 305 ").await;
    ann.expect(":bob!bob@banter AWAY").await;
    bob.send("PRIVMSG #a :back").await;
    ann.expect(":bob!bob@banter PRIVMSG #a :back").await;
    plain.expect(":bob!bob@banter PRIVMSG #a :back").await;
    nc.expect("[a] bob: back").await;

    // Someone already away who joins is announced as away right after the JOIN.
    let mut cat = IrcClient::register(server.irc.unwrap(), "cat").await;
    cat.send("AWAY :napping").await;
    cat.skip_to(" 306 ").await;
    join(&mut cat, "#a").await;
    ann.expect(":cat!cat@banter JOIN #a").await;
    ann.expect(":cat!cat@banter AWAY :napping").await;
    plain.expect(":cat!cat@banter JOIN #a").await;
    nc.expect("* cat joined a").await;
    ann.expect_silence(QUIET).await;
    plain.expect_silence(QUIET).await;
    nc.expect_silence(QUIET).await;
    server.stop().await;
}

#[tokio::test]
async fn an_irc_host_bans_a_web_user_who_is_kicked_kept_out_and_listed() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#games").await;
    let mut web = WsClient::login(server.http.unwrap(), "Troll1").await;
    web.ask(json!({"type": "join", "room": "games"}), 1).await;
    ann.expect(":Troll1!Troll1@banter JOIN #games").await;

    ann.send("MODE #games +b troll*!*@*").await;
    ann.expect(":ann!ann@banter MODE #games +b troll*!*@*")
        .await;
    ann.expect(":ann!ann@banter KICK #games Troll1 :banned (troll*)")
        .await;
    let changed = web.until("ban_changed").await;
    assert_eq!(changed["mask"], "troll*", "{changed}");
    let kicked = web.until("kicked").await;
    assert_eq!(kicked["message"], "banned (troll*)", "{kicked}");
    let (refused, _) = web.ask(json!({"type": "join", "room": "games"}), 2).await;
    assert_eq!(refused["code"], "banned", "{refused}");
    // Nor from outside, labelled or not.
    let (refused, _) = web
        .ask(
            json!({"type": "say_elsewhere", "room": "games", "from_room": "lobby", "text": "hi"}),
            3,
        )
        .await;
    assert_eq!(refused["code"], "not_member", "{refused}");

    ann.send("MODE #games b").await;
    let listed = ann
        .expect_prefix(":banter 367 ann #games troll*!*@* ann ")
        .await;
    let at: i64 = listed.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(at > 1_700_000_000, "{listed}");
    ann.expect(":banter 368 ann #games :End of channel ban list")
        .await;
    // An address mask is the operators' business.
    ann.send("MODE #games +b *!*@10.0.0.1").await;
    let notice = ann.expect_prefix(":banter NOTICE ann :MODE: ").await;
    assert!(
        notice.contains("only server operators may ban by address"),
        "{notice}"
    );
    // Banning it again changes nothing, silently.
    ann.send("MODE #games +b TROLL*").await;
    ann.send("MODE #games -b troll*").await;
    ann.expect(":ann!ann@banter MODE #games -b troll*!*@*")
        .await;
    let (joined, _) = web.ask(json!({"type": "join", "room": "games"}), 4).await;
    assert_eq!(joined["type"], "joined", "{joined}");
    server.stop().await;
}

#[tokio::test]
async fn one_mode_command_is_one_change_every_door_shows_once() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#games").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    join(&mut bob, "#games").await;
    ann.skip_to(" JOIN #games").await;
    let mut cy = server.login("cy").await;
    cy.send(":cr games").await;
    cy.expect_prefix("you are now in games").await;
    let mut web = WsClient::login(server.http.unwrap(), "dee").await;
    web.ask(json!({"type": "join", "room": "games"}), 1).await;

    ann.send("MODE #games +mi-t").await;
    ann.skip_to(" MODE #games ").await;
    // Past the joins: the mode line is the one line of the command.
    let line = bob.skip_to(" MODE #games ").await;
    assert_eq!(line, ":ann!ann@banter MODE #games +mi-t");
    cy.expect_containing(
        "* ann set games +mi-t (moderated: only hosts and voiced members speak; \
         invite-only: entering needs an invitation; any member may set the topic)",
    )
    .await;
    let changed = web.until("modes_changed").await;
    assert_eq!(
        changed["changes"],
        json!([
            {"mode": "moderated", "on": true},
            {"mode": "invite_only", "on": true},
            {"mode": "topic_lock", "on": false}
        ])
    );

    // What is already so is left out; a flag run is cut by +o, in order.
    ann.send("MODE #games +m-i+t").await;
    bob.expect(":ann!ann@banter MODE #games -i+t").await;
    ann.send("MODE #games -s+o-m bob").await;
    bob.expect(":ann!ann@banter MODE #games +o bob").await;
    bob.expect(":ann!ann@banter MODE #games -m").await;
    cy.expect_containing("* ann made bob a host of games").await;
    cy.expect("* ann set games -m (everyone may speak)").await;
    // Set and cleared again is no change at all.
    ann.send("MODE #games +s-s").await;
    ann.send("MODE #games").await;
    assert_eq!(ann.skip_to(" 324 ").await, ":banter 324 ann #games +nt");
    bob.expect_silence(QUIET).await;

    // The text door's several changes are one line for IRC users as well.
    cy.send(":mode +s").await;
    cy.expect_prefix("error: ").await;
    ann.send("MODE #games +o cy").await;
    cy.expect_containing("* ann made cy a host of games").await;
    cy.send(":mode +sm-n").await;
    bob.skip_to(" MODE #games +o cy").await;
    bob.expect(":cy!cy@banter MODE #games +sm-n").await;
    server.stop().await;
}

#[tokio::test]
async fn a_text_host_moderates_and_an_irc_user_is_refused_until_voiced() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut alice = server.login("alice").await;
    alice.send(":n games").await;
    alice.expect("created room games; you are in it").await;
    let mut bob = IrcClient::register_with(server.irc.unwrap(), "bob", "multi-prefix").await;
    join(&mut bob, "#games").await;
    alice.expect("* bob joined games").await;
    let mut web = WsClient::login(server.http.unwrap(), "cy").await;
    web.ask(json!({"type": "join", "room": "games"}), 1).await;
    alice.expect("* cy joined games").await;

    alice.send(":mode +m").await;
    alice
        .expect("* alice set games +m (moderated: only hosts and voiced members speak)")
        .await;
    bob.skip_to(":alice!alice@banter MODE #games +m").await;
    let changed = web.until("modes_changed").await;
    assert_eq!(
        changed["changes"],
        json!([{"mode": "moderated", "on": true}])
    );
    bob.send("PRIVMSG #games :hello?").await;
    bob.expect(":banter 404 bob #games :Cannot send to channel (+m)")
        .await;
    let (refused, _) = web
        .ask(json!({"type": "say", "room": "games", "text": "hi"}), 2)
        .await;
    assert_eq!(refused["code"], "moderated", "{refused}");
    bob.send("MODE #games").await;
    bob.expect(":banter 324 bob #games +mnt").await;
    bob.expect_prefix(":banter 329 bob #games ").await;

    alice.send(":voice bob").await;
    alice.expect("* alice gave bob a voice in games").await;
    bob.expect(":alice!alice@banter MODE #games +v bob").await;
    bob.send("NAMES #games").await;
    bob.expect(":banter 353 bob = #games :@alice +bob cy").await;
    bob.expect(":banter 366 bob #games :End of /NAMES list")
        .await;
    bob.send("WHO #games").await;
    bob.expect_prefix(":banter 352 bob #games alice banter * alice H@ :0 ")
        .await;
    bob.expect(":banter 352 bob #games bob banter * bob H+ :0 bob")
        .await;
    bob.skip_to(" 315 ").await;
    bob.send("PRIVMSG #games :thanks").await;
    alice.expect("[games] bob: thanks").await;
    alice.send(":who").await;
    alice
        .expect("in games (3): alice (host), bob (voice), cy")
        .await;
    // A host who is voiced too shows both with multi-prefix.
    alice.send(":voice alice").await;
    bob.skip_to("MODE #games +v alice").await;
    bob.send("NAMES #games").await;
    bob.expect(":banter 353 bob = #games :@+alice +bob cy")
        .await;
    server.stop().await;
}

#[tokio::test]
async fn outside_messages_need_minus_n_and_secret_channels_hide_from_outsiders() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    join(&mut ann, "#games").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    bob.send("PRIVMSG #games :from outside").await;
    bob.expect(":banter 404 bob #games :Cannot send to channel")
        .await;
    ann.send("MODE #games -n+s").await;
    ann.expect(":ann!ann@banter MODE #games -n+s").await;
    bob.send("PRIVMSG #games :from outside").await;
    ann.expect(":bob!bob@banter PRIVMSG #games :from outside")
        .await;
    bob.send("LIST").await;
    let listed = bob.lines_to(" 323 ").await;
    assert!(
        !listed.iter().any(|line| line.contains("#games")),
        "{listed:?}"
    );
    bob.send("NAMES #games").await;
    bob.expect(":banter 366 bob #games :End of /NAMES list")
        .await;
    // Members see its names marked secret, `@` (RFC 2812 3.2.5), on NAMES
    // and on entering.
    ann.send("NAMES #games").await;
    ann.expect(":banter 353 ann @ #games :@ann").await;
    ann.expect(":banter 366 ann #games :End of /NAMES list")
        .await;
    let mut cy = IrcClient::register(server.irc.unwrap(), "cy").await;
    let lines = join(&mut cy, "#games").await;
    assert_eq!(lines[1], ":banter 353 cy @ #games :@ann cy", "{lines:?}");
    cy.send("PART #games").await;
    ann.expect(":cy!cy@banter JOIN #games").await;
    ann.expect(":cy!cy@banter PART #games").await;
    bob.send("WHOIS ann").await;
    let whois = bob.lines_to(" 318 ").await;
    assert!(
        !whois.iter().any(|line| line.contains("#games")),
        "{whois:?}"
    );
    ann.send("LIST").await;
    let listed = ann.lines_to(" 323 ").await;
    assert!(
        listed
            .iter()
            .any(|line| line.contains(" 322 ann #games 1 ")),
        "{listed:?}"
    );
    ann.send("MODE #games +i").await;
    ann.expect(":ann!ann@banter MODE #games +i").await;
    bob.send("JOIN #games").await;
    bob.expect(":banter 473 bob #games :Cannot join channel (+i)")
        .await;
    ann.send("INVITE bob #games").await;
    ann.expect(":banter 341 ann bob #games").await;
    bob.expect(":ann!ann@banter INVITE bob #games").await;
    join(&mut bob, "#games").await;
    ann.expect(":bob!bob@banter JOIN #games").await;
    ann.send("MODE #games").await;
    ann.expect(":banter 324 ann #games +ist").await;
    server.stop().await;
}

#[tokio::test]
async fn a_kick_carries_its_reason_on_every_door() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut web = WsClient::login(server.http.unwrap(), "web").await;
    web.ask(json!({"type": "create", "room": "r"}), 1).await;
    let mut irc = IrcClient::register(server.irc.unwrap(), "irc").await;
    join(&mut irc, "#r").await;
    let mut nc = server.login("nc").await;
    nc.send(":cr r").await;
    nc.expect_prefix("you are now in r").await;
    // A banter/1 host kicks the IRC user...
    web.ask(
        json!({"type": "kick", "room": "r", "name": "irc", "reason": "too loud"}),
        2,
    )
    .await;
    irc.skip_to(":web!web@banter KICK #r irc :too loud").await;
    nc.expect_containing("* irc was kicked from r by web: too loud")
        .await;
    // They come back; the text user is made a host.
    web.ask(json!({"type": "host_add", "room": "r", "name": "nc"}), 3)
        .await;
    join(&mut irc, "#r").await;
    nc.expect_containing("* irc joined r").await;
    // A text host kicks the IRC user with a reason of several words...
    nc.send(":kick irc  spam and  more spam").await;
    irc.skip_to(":nc!nc@banter KICK #r irc :spam and  more spam")
        .await;
    // ...and an IRC host kicks the web user with IRC's trailing reason.
    join(&mut irc, "#r").await;
    web.ask(json!({"type": "host_add", "room": "r", "name": "irc"}), 4)
        .await;
    nc.send(":hostrm web").await;
    irc.skip_to(":nc!nc@banter MODE #r -o web").await;
    irc.send("KICK #r web :see you tomorrow").await;
    let kicked = web.until("kicked").await;
    assert_eq!(kicked["message"], "see you tomorrow", "{kicked}");
    server.stop().await;
}

#[tokio::test]
async fn a_private_notice_stays_a_notice_on_every_door_and_is_never_answered() {
    let server = server_with(|config| {
        config.http_listen = OptionalAddr(Some("127.0.0.1:0".parse().unwrap()));
    })
    .await;
    let mut bot = IrcClient::register(server.irc.unwrap(), "bot").await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut nc = server.login("nc").await;
    let mut web = WsClient::login(server.http.unwrap(), "web").await;
    // An away user: a PRIVMSG is answered with 301, a NOTICE is not.
    ann.send("AWAY :lunch").await;
    ann.skip_to(" 306 ").await;
    bot.send("NOTICE ann :build passed").await;
    ann.expect(":bot!bot@banter NOTICE ann :build passed").await;
    bot.send("PRIVMSG ann :and you?").await;
    bot.expect(":banter 301 bot ann :lunch").await;
    ann.expect(":bot!bot@banter PRIVMSG ann :and you?").await;
    bot.send("NOTICE ann :deployed").await;
    ann.expect(":bot!bot@banter NOTICE ann :deployed").await;
    bot.expect_silence(QUIET).await;
    // The text door shows it as a notice, the JSON door marks it.
    bot.send("NOTICE nc :deployed").await;
    let shown = nc.expect_past_notices("[private] ").await;
    assert_eq!(shown, "[private] -bot- deployed");
    bot.send("NOTICE web :deployed").await;
    let notice = web.until("private").await;
    assert_eq!(notice["from"], "bot", "{notice}");
    assert_eq!(notice["text"], "deployed", "{notice}");
    assert_eq!(notice["notice"], true, "{notice}");
    // A plain private message carries no mark.
    bot.send("PRIVMSG web :hi").await;
    let message = web.until("private").await;
    assert_eq!(message["text"], "hi", "{message}");
    assert!(message.get("notice").is_none(), "{message}");
    server.stop().await;
}

#[tokio::test]
async fn kick_pairs_a_list_of_channels_with_its_list_of_users() {
    let server = server().await;
    let mut ann = IrcClient::register(server.irc.unwrap(), "ann").await;
    let mut bob = IrcClient::register(server.irc.unwrap(), "bob").await;
    let mut cy = IrcClient::register(server.irc.unwrap(), "cy").await;
    join(&mut ann, "#a,#b").await;
    ann.skip_to(" 366 ann #b ").await;
    join(&mut bob, "#a,#b").await;
    bob.skip_to(" 366 bob #b ").await;
    join(&mut cy, "#b").await;
    ann.skip_to(":cy!cy@banter JOIN #b").await;
    // One channel per user (RFC 2812 3.2.8): bob leaves #a, cy leaves #b.
    ann.send("KICK #a,#b bob,cy :bye").await;
    // Each is kicked by their own session: the two may come in either order.
    let mut kicks = vec![ann.line().await, ann.line().await];
    kicks.sort();
    assert_eq!(
        kicks,
        [
            ":ann!ann@banter KICK #a bob :bye",
            ":ann!ann@banter KICK #b cy :bye"
        ]
    );
    cy.skip_to(":ann!ann@banter KICK #b cy :bye").await;
    // Lists of different lengths are refused whole.
    ann.send("KICK #a,#b bob").await;
    ann.expect(":banter 461 ann KICK :Not enough parameters")
        .await;
    // One channel for several users still works.
    ann.send("KICK #b bob :later").await;
    ann.expect(":ann!ann@banter KICK #b bob :later").await;
    server.stop().await;
}
