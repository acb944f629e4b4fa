//! ACLs and digest auth: NoAuth without credentials, access with them, getACL/setACL with
//! aversion, whoAmI showing the digest identity.
mod common;

use common::TestServer;
use corral_client::acl::{digest_acl, digest_id};
use corral_client::{perms, Acl, CreateMode, Error};

both!(digest_acl_and_auth);
async fn digest_acl_and_auth(s: &TestServer) {
    let owner = s.client().await;
    let stranger = s.client().await;
    owner.add_auth("digest", b"alice:secret").await.unwrap();
    let acl = digest_acl("alice", "secret", perms::ALL);
    owner
        .create("/sec", b"hidden", &acl, CreateMode::Persistent)
        .await
        .unwrap();

    assert!(matches!(
        stranger.get_data("/sec").await,
        Err(Error::NoAuth)
    ));
    assert!(matches!(
        stranger.set_data("/sec", b"x", None).await,
        Err(Error::NoAuth)
    ));
    assert_eq!(owner.get_data("/sec").await.unwrap().0, b"hidden");

    let (got, st) = owner.get_acl("/sec").await.unwrap();
    assert_eq!(got, acl);
    assert_eq!(got[0].id, digest_id("alice", "secret"));
    assert_eq!(st.aversion, 0);
    assert!(matches!(
        owner.set_acl("/sec", &Acl::open(), Some(5)).await,
        Err(Error::BadVersion)
    ));
    let st = owner
        .set_acl("/sec", &Acl::read_only(), Some(0))
        .await
        .unwrap();
    assert_eq!(st.aversion, 1);
    // world:anyone READ leaves even the owner without ADMIN.
    assert!(matches!(
        owner.set_acl("/sec", &Acl::open(), Some(1)).await,
        Err(Error::NoAuth)
    ));
    assert_eq!(stranger.get_data("/sec").await.unwrap().0, b"hidden");
    assert!(matches!(
        stranger.set_data("/sec", b"x", None).await,
        Err(Error::NoAuth)
    ));

    let who = owner.who_am_i().await.unwrap();
    assert!(
        who.iter()
            .any(|c| c.auth_scheme == "digest" && c.user == "alice"),
        "{who:?}"
    );
    owner.close().await.unwrap();
    stranger.close().await.unwrap();
}
