//! Four-letter words answer on the client port, gated by the whitelist as in ZooKeeper.

mod common;

use common::start;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn ask(addr: std::net::SocketAddr, word: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(word.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(common::WAIT, s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test]
async fn only_srvr_answers_by_default() {
    let addr = start(|_| {}).await;
    assert_eq!(
        ask(addr, "ruok").await,
        "ruok is not executed because it is not in the whitelist.\n"
    );
    assert!(ask(addr, "srvr").await.contains("Mode: standalone"));
}

#[tokio::test]
async fn whitelisted_words_answer() {
    let addr = start(|c| {
        c.four_letter_whitelist = corral_server::config::FourLetterWhitelist::All;
    })
    .await;
    assert_eq!(ask(addr, "ruok").await, "imok");
    assert_eq!(ask(addr, "isro").await, "rw");
    let mntr = ask(addr, "mntr").await;
    assert!(mntr.contains("zk_server_state\tstandalone"), "{mntr}");
    assert!(mntr.contains("zk_znode_count\t5"), "{mntr}");
    assert!(ask(addr, "stat").await.contains("Clients:"));
    assert!(ask(addr, "wchs").await.contains("Total watches:0"));
}
