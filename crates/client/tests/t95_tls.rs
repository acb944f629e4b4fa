//! TLS to corral's secure client port: a client certificate signed by the trusted CA is
//! served and authenticated as `x509:<subject>`; one from another CA is refused (connection
//! loss); host names are checked unless switched off. Certificates are made by the `openssl`
//! command (tests/interop/install-deps.sh installs it); the test is skipped without it.
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use corral_client::{perms, Acl, Client, CreateMode, Error, Id, Options, Tls};
use corral_server::tls::settings::{Store, StoreType};
use corral_server::tls::TlsSettings;

const CLIENT_DN: &str = "CN=client,O=corral";
/// openssl's arguments for a new EC P-256 key, unencrypted (fast to make).
const NEW_EC_KEY: [&str; 5] = [
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
];

fn openssl(dir: &Path, args: &[&str]) {
    let st = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        st.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}

fn ca(dir: &Path, name: &str) {
    let (key, crt, subj) = (
        format!("{name}.key"),
        format!("{name}.crt"),
        format!("/CN={name}"),
    );
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &NEW_EC_KEY,
            &["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subj],
        ]
        .concat(),
    );
}

/// `name.key`, `name.crt` and `name.pem` (both), signed by `ca`, valid for 127.0.0.1 and
/// localhost.
fn issue(dir: &Path, name: &str, subject: &str, ca: &str) {
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    openssl(
        dir,
        &[
            &["req"][..],
            &NEW_EC_KEY,
            &["-keyout", &key, "-out", &csr, "-subj", subject],
        ]
        .concat(),
    );
    let ext = dir.join(format!("{name}.ext"));
    std::fs::write(&ext, "subjectAltName=IP:127.0.0.1,DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            ext.to_str().unwrap(),
        ],
    );
    let pem = [
        std::fs::read(dir.join(&key)).unwrap(),
        std::fs::read(dir.join(&crt)).unwrap(),
    ];
    std::fs::write(dir.join(format!("{name}.pem")), pem.concat()).unwrap();
}

fn pem(path: PathBuf) -> Option<Store> {
    Some(Store {
        location: path,
        kind: StoreType::Pem,
        password: String::new(),
    })
}

/// A corral with a secure port; returns its address on 127.0.0.1.
async fn start(dir: &Path) -> std::net::SocketAddr {
    let cfg = corral_server::Config {
        client_port: 0,
        client_port_address: [127, 0, 0, 1].into(),
        secure_client_port: Some(0),
        // All of loopback: the test dials 127.0.0.2, which the certificate does not name.
        secure_client_port_address: [0, 0, 0, 0].into(),
        client_tls: TlsSettings {
            key_store: pem(dir.join("server.pem")),
            trust_store: pem(dir.join("ca.crt")),
            ..TlsSettings::default()
        },
        data_dir: dir.join("data"),
        data_log_dir: dir.join("data"),
        max_client_cnxns: 0,
        ..corral_server::Config::default()
    };
    let server = corral_server::Server::bind(cfg).await.expect("bind corral");
    let port = server.secure_local_addr().unwrap().unwrap().port();
    let addr = ([127, 0, 0, 1], port).into();
    tokio::spawn(server.run());
    addr
}

fn tls(dir: &Path, cert: &str, verify_hostname: bool) -> Tls {
    let (crt, key) = (
        dir.join(format!("{cert}.crt")),
        dir.join(format!("{cert}.key")),
    );
    Tls::from_pem(&dir.join("ca.crt"), Some((&crt, &key)), verify_hostname).unwrap()
}

async fn connect(host: String, tls: Tls) -> Result<Client, Error> {
    let options = Options::new(common::SESSION)
        .connect_timeout(Duration::from_secs(3))
        .tls(tls);
    Client::connect_with(&host, options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_client_certificates_and_x509_acls() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("no openssl command: skipping");
        return;
    }
    let dir = std::env::temp_dir().join(format!("corral-client-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    ca(&dir, "ca");
    ca(&dir, "rogue");
    issue(&dir, "server", "/CN=localhost", "ca");
    issue(&dir, "client", "/O=corral/CN=client", "ca");
    issue(&dir, "other", "/O=corral/CN=other", "ca");
    issue(&dir, "rogue-client", "/O=corral/CN=client", "rogue");
    let addr = start(&dir).await;

    let owner = connect(addr.to_string(), tls(&dir, "client", true))
        .await
        .unwrap();
    let acl = vec![Acl {
        perms: perms::ALL,
        id: Id::new("x509", CLIENT_DN),
    }];
    owner
        .create("/mine", b"x509", &acl, CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(owner.get_data("/mine").await.unwrap().0, b"x509");

    // By name: the server's certificate names localhost too.
    let other = connect(
        format!("localhost:{}", addr.port()),
        tls(&dir, "other", true),
    )
    .await
    .unwrap();
    assert!(matches!(other.get_data("/mine").await, Err(Error::NoAuth)));

    // A CA the server does not trust: the handshake fails and the client sees no session.
    let refused = connect(addr.to_string(), tls(&dir, "rogue-client", true)).await;
    assert!(
        refused.is_err(),
        "an untrusted client certificate was served"
    );

    // The server's certificate does not name 127.0.0.2: refused unless names are not checked.
    let elsewhere = format!("127.0.0.2:{}", addr.port());
    assert!(connect(elsewhere.clone(), tls(&dir, "client", true))
        .await
        .is_err());
    let lax = connect(elsewhere, tls(&dir, "client", false))
        .await
        .unwrap();
    assert_eq!(lax.get_data("/mine").await.unwrap().0, b"x509");
    lax.close().await.unwrap();

    owner.close().await.unwrap();
    other.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
