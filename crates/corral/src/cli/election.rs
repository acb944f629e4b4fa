//! `corral cli election PATH`: the queue of a leader election, as the recipes build it
//! (Curator's LeaderLatch and LeaderSelector, kazoo's Election, ZooKeeper's own recipe): one
//! ephemeral sequential child of PATH per candidate; the lowest sequence number leads, the
//! next one takes over when it goes.

use std::process::ExitCode;
use std::time::Duration;

use corral_client::{Client, Stat};

use super::output::keeper_error;

/// The sequence number ZooKeeper appended: the name's trailing digits (at most ten).
fn sequence(name: &str) -> Option<u64> {
    let digits = name
        .bytes()
        .rev()
        .take_while(u8::is_ascii_digit)
        .count()
        .min(10);
    if digits == 0 {
        return None;
    }
    name[name.len() - digits..].parse().ok()
}

/// Candidates in queue order: by sequence number, names without one last (by name).
pub fn order(names: &mut [String]) {
    names.sort_by(|a, b| match (sequence(a), sequence(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    });
}

/// The table: one line per candidate still present, its role, name, session and czxid.
pub fn render(path: &str, candidates: &[(String, Stat)]) -> String {
    if candidates.is_empty() {
        return format!("election {path}: no candidates\n");
    }
    let width = candidates.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut out = format!(
        "election {path}: {} candidate{}\n",
        candidates.len(),
        if candidates.len() == 1 { "" } else { "s" }
    );
    for (i, (name, st)) in candidates.iter().enumerate() {
        let role = match i {
            0 => "leader",
            1 => "next",
            _ => "waiting",
        };
        out.push_str(&format!(
            "{role:<7}  {name:<width$}  session 0x{:x}  czxid 0x{:x}\n",
            st.ephemeral_owner, st.czxid
        ));
    }
    out
}

pub async fn run(server: &str, timeout: Duration, args: &[String]) -> ExitCode {
    let [path] = args else {
        errln!("usage: corral cli [-server host:port] election PATH");
        return ExitCode::from(2);
    };
    if let Err(e) = super::output::validate_path(path, false) {
        errln!("{}", e.message);
        return ExitCode::from(1);
    }
    let client = match Client::connect(server, timeout).await {
        Ok(c) => c,
        Err(e) => {
            errln!("Unable to connect to {server}: {e}");
            return ExitCode::from(1);
        }
    };
    let code = match client.get_children(path).await {
        Err(e) => {
            errln!("{}", keeper_error(&e, Some(path.as_str())).message);
            ExitCode::from(1)
        }
        Ok(mut names) => {
            order(&mut names);
            let mut candidates = Vec::new();
            for n in names {
                let child = super::commands::child_path(path, &n);
                // A candidate that left between the listing and now is no longer queued.
                if let Ok(Some(st)) = client.exists(&child).await {
                    candidates.push((n, st));
                }
            }
            print!("{}", render(path, &candidates));
            ExitCode::SUCCESS
        }
    };
    let _ = client.close().await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_order_by_sequence() {
        let mut names: Vec<String> = [
            "_c_b-latch-0000000012",
            "zz",
            "_c_a-latch-0000000003",
            "x__lock__0000000007",
        ]
        .map(String::from)
        .to_vec();
        order(&mut names);
        assert_eq!(
            names,
            [
                "_c_a-latch-0000000003",
                "x__lock__0000000007",
                "_c_b-latch-0000000012",
                "zz"
            ]
        );
    }

    #[test]
    fn table_names_the_leader_and_the_next() {
        let st = |owner, czxid| Stat {
            ephemeral_owner: owner,
            czxid,
            ..Stat::default()
        };
        let text = render(
            "/e",
            &[
                ("n_0000000001".into(), st(0x10, 4)),
                ("n_0000000002".into(), st(0x11, 5)),
            ],
        );
        assert_eq!(
            text,
            "election /e: 2 candidates\n\
             leader   n_0000000001  session 0x10  czxid 0x4\n\
             next     n_0000000002  session 0x11  czxid 0x5\n"
        );
        assert_eq!(render("/e", &[]), "election /e: no candidates\n");
    }
}
