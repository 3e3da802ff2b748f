//! Wire test: every way a connection ends releases everything it held.
//!
//! Alone in its own test binary, because it counts the process's open file
//! descriptors and resident memory, which other tests running in parallel
//! threads would disturb.

mod support;

use std::time::{Duration, Instant};

use support::{Client, TestServer};

fn resident_kib() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_connection_cycles_leave_nothing_behind() {
    // Every worker makes rooms, all from one address.
    let server = TestServer::start_with(|c| {
        c.rate_limit = 0;
        c.max_new_rooms_per_minute = 0;
    })
    .await;
    let mut observer = server.login("observer").await;
    let addr = server.addr;
    let idle = open_fds();
    // A first round warms up allocator pools and runtime structures.
    churn(addr, "warm", 20, 50).await;
    settle(idle).await;
    let memory_before = resident_kib();
    churn(addr, "u", 50, 200).await;
    settle(idle).await;
    let grown = resident_kib().saturating_sub(memory_before);
    eprintln!("resident memory grew by {grown} KiB over 10,000 connection cycles");
    // 3,400 rooms stay (rooms outlive their members) at well under 1 kB each.
    assert!(grown < 8 * 1024, "resident memory grew by {grown} KiB");
    // Drain the join/leave notices, then check nobody is left.
    observer.send(":who").await;
    loop {
        let line = observer.line().await;
        if line.starts_with("in lobby") {
            assert_eq!(line, "in lobby (1): observer");
            break;
        }
    }
    server.stop().await;
}

/// Waits until the server has closed the sessions the clients just left: the
/// process is back to the `idle` count of open descriptors.
async fn settle(idle: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while open_fds() > idle && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(open_fds(), idle, "sockets left open");
}

/// `tasks` clients in parallel each connect, log in and leave `cycles` times,
/// by `:q`, by dropping the socket, or after creating a room.
async fn churn(addr: std::net::SocketAddr, prefix: &'static str, tasks: usize, cycles: usize) {
    let workers: Vec<_> = (0..tasks)
        .map(|task| {
            tokio::spawn(async move {
                for cycle in 0..cycles {
                    let mut client = Client::connect(addr).await;
                    client.skip_greeting().await;
                    client.send(&format!("{prefix}{task}x{cycle}")).await;
                    client.expect_past_notices("hello").await;
                    match cycle % 3 {
                        0 => {
                            client.send(":q").await;
                            let rest = client.expect_closed().await;
                            assert_eq!(rest.last().map(String::as_str), Some("bye!"));
                        }
                        1 => drop(client),
                        _ => {
                            client.send(&format!(":n {prefix}{task}r{cycle}")).await;
                            client.expect_past_notices("created room").await;
                        }
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
}
