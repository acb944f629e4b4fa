//! zkCli.sh's ZooKeeper commands (3.8's `org.apache.zookeeper.cli`), one function each, on
//! one session. Output goes where zkCli sends it: results to stdout; `Created <path>`,
//! deprecation notes and errors to stderr.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use corral_client::{
    Acl, AddWatchMode, Client, CreateMode, Error, Op, PersistentWatch, WatchFuture, WatcherType,
};

use super::args::{parse, CliError, FlagSpec, Parsed};
use super::output::{self, keeper_error, validate_path, Printer};

/// What each command prints as its usage (`getUsageStr`), for the usage list and its errors.
pub const USAGES: &[(&str, &str)] = &[
    ("addWatch", "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "scheme auth"),
    ("close", ""),
    ("config", "[-c] [-w] [-s]"),
    ("connect", "host:port"),
    ("create", "[-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "[-v version] path"),
    ("deleteall", "path [-b batch size]"),
    ("delquota", "[-n|-b|-N|-B] path"),
    ("get", "[-s] [-w] path"),
    ("getAcl", "[-s] path"),
    ("getAllChildrenNumber", "path"),
    ("getEphemerals", "path"),
    ("history", ""),
    ("listquota", "path"),
    ("ls", "[-s] [-w] [-R] path"),
    ("printwatches", "on|off"),
    ("quit", ""),
    ("reconfig", "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"),
    ("redo", "cmdno"),
    ("removewatches", "path [-c|-d|-a] [-l]"),
    ("set", "[-s] [-v version] path data"),
    ("setAcl", "[-s] [-v version] [-R] path acl"),
    ("setquota", "-n|-b|-N|-B val path"),
    ("stat", "[-w] path"),
    ("sync", "path"),
    ("version", ""),
    ("whoami", ""),
];

pub(super) fn usage_of(cmd: &str) -> String {
    let opts = USAGES
        .iter()
        .find(|(c, _)| *c == cmd)
        .map_or("", |(_, o)| o);
    format!("{cmd} {opts}")
}

/// zkCli's `ZooKeeperMain.usage()`, on stderr.
pub fn print_usage() {
    errln!("ZooKeeper -server host:port -client-configuration properties-file cmd args");
    for (cmd, opts) in USAGES {
        errln!("\t{cmd} {opts}");
    }
}

/// The one-shot watches already set, by path, so that one event prints once however many
/// times a watch was asked for (zkCli's single watcher is kept in sets per path).
#[derive(Default)]
struct WatchSet {
    data: HashSet<String>,
    child: HashSet<String>,
    persistent: HashSet<(String, bool)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    Data,
    Child,
}

/// One session and what the shell keeps with it.
pub struct Conn {
    pub client: Client,
    watches: Arc<Mutex<WatchSet>>,
    printer: Printer,
    state_task: tokio::task::JoinHandle<()>,
}

impl Conn {
    /// Connects; prints the `SyncConnected` event as zkCli's watcher does, then every later
    /// session state change.
    pub async fn open(host: &str, timeout: Duration, printer: Printer) -> Result<Conn, Error> {
        let client = Client::connect(host, timeout).await?;
        printer.event("SyncConnected", "None", None);
        let mut state = client.state();
        state.mark_unchanged();
        let p = printer.clone();
        let state_task = tokio::spawn(async move {
            while state.changed().await.is_ok() {
                let s = *state.borrow_and_update();
                p.event(output::keeper_state(s), "None", None);
                if s.is_terminal() {
                    break;
                }
            }
        });
        Ok(Conn {
            client,
            watches: Arc::default(),
            printer,
            state_task,
        })
    }

    pub fn alive(&self) -> bool {
        !self.client.state().borrow().is_terminal()
    }

    /// Closes the session and waits (briefly) until its `Closed` event is printed.
    pub async fn close(&mut self) {
        let _ = self.client.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.state_task).await;
    }

    fn watch_one_shot(&self, fut: WatchFuture, table: Table, path: &str) {
        {
            let mut w = self.watches.lock().unwrap();
            let set = match table {
                Table::Data => &mut w.data,
                Table::Child => &mut w.child,
            };
            if !set.insert(path.to_string()) {
                return; // already watched: the same watcher, one event
            }
        }
        let watches = self.watches.clone();
        let printer = self.printer.clone();
        let path = path.to_string();
        tokio::spawn(async move {
            let Ok(ev) = fut.await else {
                return;
            };
            {
                let mut guard = watches.lock().unwrap();
                let w = &mut *guard;
                let (mine, other) = match table {
                    Table::Data => (&mut w.data, &mut w.child),
                    Table::Child => (&mut w.child, &mut w.data),
                };
                if !mine.remove(&path) {
                    return; // a sibling watch already printed this event
                }
                if ev.event_type == corral_client::EventType::NodeDeleted {
                    other.remove(&path);
                }
            }
            printer.event(
                "SyncConnected",
                output::event_type(ev.event_type),
                Some(&ev.path),
            );
        });
    }

    fn watch_persistent(&self, mut stream: PersistentWatch, path: &str, recursive: bool) {
        let key = (path.to_string(), recursive);
        if !self.watches.lock().unwrap().persistent.insert(key.clone()) {
            return;
        }
        let watches = self.watches.clone();
        let printer = self.printer.clone();
        tokio::spawn(async move {
            while let Some(ev) = stream.next().await {
                printer.event(
                    "SyncConnected",
                    output::event_type(ev.event_type),
                    Some(&ev.path),
                );
            }
            watches.lock().unwrap().persistent.remove(&key);
        });
    }

    /// Runs one of the ZooKeeper commands; `words[0]` is its name.
    pub async fn exec(
        &self,
        words: &[String],
        add_watch_mode: &mut AddWatchMode,
    ) -> Result<(), CliError> {
        let cmd = words[0].as_str();
        match cmd {
            "ls" => self.ls(words).await,
            "get" => self.get(words).await,
            "stat" => self.stat(words).await,
            "create" => self.create(words).await,
            "set" => self.set(words).await,
            "delete" => self.delete(words).await,
            "deleteall" => self.deleteall(words).await,
            "getAcl" => self.get_acl(words).await,
            "setAcl" => self.set_acl(words).await,
            "addauth" => self.addauth(words).await,
            "sync" => self.sync(words).await,
            "addWatch" => self.add_watch(words, add_watch_mode).await,
            "removewatches" => self.remove_watches(words).await,
            "getEphemerals" => self.get_ephemerals(words).await,
            "getAllChildrenNumber" => self.all_children(words).await,
            "whoami" => self.whoami().await,
            "config" => self.config(words).await,
            "reconfig" => self.reconfig(words).await,
            "version" => {
                println!(
                    "ZooKeeper CLI version: corral {} (zkCli.sh 3.8 compatible)",
                    env!("CARGO_PKG_VERSION")
                );
                Ok(())
            }
            "setquota" => self.setquota(words).await,
            "listquota" => self.listquota(words).await,
            "delquota" => self.delquota(words).await,
            other => Err(CliError::new(format!("{other}: not a ZooKeeper command"))),
        }
    }

    /// Parses and requires at least `min_args` words (command included).
    fn parse(words: &[String], spec: &[FlagSpec], min_args: usize) -> Result<Parsed, CliError> {
        let p = parse(words, spec)?;
        if p.args.len() < min_args {
            return Err(CliError::new(usage_of(&words[0])));
        }
        Ok(p)
    }

    /// `cmd path watch` (3.4's form): the third word means `-w`, with zkCli's note.
    fn old_watch_form(p: &Parsed, form: &str) -> bool {
        if p.args.len() > 2 {
            errln!(
                "'{0} path [watch]' has been deprecated. Please use '{0} {form} path' instead.",
                p.args[0]
            );
            return true;
        }
        false
    }

    async fn ls(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(
            words,
            &[("?", false), ("s", false), ("w", false), ("R", false)],
            0,
        )?;
        let old = Self::old_watch_form(&p, "[-w]");
        let Some(path) = p.arg(1) else {
            return Err(CliError::new(usage_of("ls")));
        };
        let watch = p.has("w") || old;
        validate_path(path, false)?;
        if p.has("R") {
            self.get_nullable(path, watch).await?;
            println!("{path}");
            return self.ls_tree(path, watch).await;
        }
        let (mut children, stat) = if p.has("s") {
            let (c, s) = self.client.get_children2(path).await.map_err(on(path))?;
            if watch {
                self.children_watch(path).await?;
            }
            (c, Some(s))
        } else {
            (self.children(path, watch).await?, None)
        };
        children.sort();
        println!("{}", output::java_list(&children));
        if let Some(s) = stat {
            print!("{}", output::stat(&s));
        }
        Ok(())
    }

    /// `ZKUtil.visitSubTreeDFS`: each level's children sorted, printed before descending.
    async fn ls_tree(&self, root: &str, watch: bool) -> Result<(), CliError> {
        let mut stack = vec![root.to_string()];
        while let Some(path) = stack.pop() {
            let mut children = match self.children(&path, watch).await {
                Ok(c) => c,
                Err(_) if path != root => continue,
                Err(e) => return Err(e),
            };
            children.sort();
            let full: Vec<String> = children.iter().map(|c| child_path(&path, c)).collect();
            for f in &full {
                println!("{f}");
            }
            stack.extend(full.into_iter().rev());
        }
        Ok(())
    }

    async fn children(&self, path: &str, watch: bool) -> Result<Vec<String>, CliError> {
        let r = if watch {
            self.client.get_children_w(path).await.map(|(c, fut)| {
                self.watch_one_shot(fut, Table::Child, path);
                c
            })
        } else {
            self.client.get_children(path).await
        };
        r.map_err(on(path))
    }

    async fn children_watch(&self, path: &str) -> Result<(), CliError> {
        self.children(path, true).await.map(drop)
    }

    async fn get_nullable(
        &self,
        path: &str,
        watch: bool,
    ) -> Result<(Option<Vec<u8>>, corral_client::Stat), CliError> {
        let (data, stat, fut) = self
            .client
            .get_data_nullable(path, watch)
            .await
            .map_err(on(path))?;
        if let Some(fut) = fut {
            self.watch_one_shot(fut, Table::Data, path);
        }
        Ok((data, stat))
    }

    async fn get(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("s", false), ("w", false)], 2)?;
        let old = Self::old_watch_form(&p, "[-s] [-w]");
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        let (data, stat) = self.get_nullable(path, p.has("w") || old).await?;
        println!("{}", data_string(data.as_deref()));
        if p.has("s") {
            print!("{}", output::stat(&stat));
        }
        Ok(())
    }

    async fn stat(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("w", false)], 2)?;
        let old = Self::old_watch_form(&p, "[-w]");
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        let stat = if p.has("w") || old {
            let (stat, fut) = self.client.exists_w(path).await.map_err(on(path))?;
            self.watch_one_shot(fut, Table::Data, path);
            stat
        } else {
            self.client.exists(path).await.map_err(on(path))?
        };
        match stat {
            Some(s) => {
                print!("{}", output::stat(&s));
                Ok(())
            }
            None => Err(keeper_error(&Error::NoNode, Some(path))),
        }
    }

    async fn create(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(
            words,
            &[("e", false), ("s", false), ("c", false), ("t", true)],
            2,
        )?;
        let (e, s, c, t) = (p.has("e"), p.has("s"), p.has("c"), p.has("t"));
        if c && (e || s) {
            return Err(CliError::new(
                "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
            ));
        }
        let ttl: i64 = match p.value("t") {
            Some(v) => v
                .parse()
                .map_err(|_| CliError::new("-t argument must be a long value"))?,
            None => 0,
        };
        if t && e {
            return Err(CliError::new("TTLs cannot be used with Ephemeral znodes"));
        }
        if t && c {
            return Err(CliError::new("TTLs cannot be used with Container znodes"));
        }
        if t && !(1..=0xFF_FFFF_FFFF).contains(&ttl) {
            return Err(CliError::new(format!(
                "ttl must be positive and cannot be larger than: {}",
                0xFF_FFFF_FFFFi64
            )));
        }
        let ttl_d = Duration::from_millis(ttl.max(0) as u64);
        let mode = match (e, s, c, t) {
            (true, true, _, _) => CreateMode::EphemeralSequential,
            (true, false, _, _) => CreateMode::Ephemeral,
            (false, true, _, true) => CreateMode::PersistentSequentialWithTtl(ttl_d),
            (false, true, _, false) => CreateMode::PersistentSequential,
            (false, false, true, _) => CreateMode::Container,
            (false, false, false, true) => CreateMode::PersistentWithTtl(ttl_d),
            (false, false, false, false) => CreateMode::Persistent,
        };
        let path = p.arg(1).unwrap();
        let data = p.arg(2).map(str::as_bytes);
        let acl = match p.arg(3) {
            Some(a) => output::parse_acl(a),
            None => Acl::open(),
        };
        validate_path(path, s)?;
        match self.client.create_nullable(path, data, &acl, mode).await {
            Ok((created, _)) => {
                errln!("Created {created}");
                Ok(())
            }
            Err(err) => {
                if matches!(err, Error::InvalidAcl) {
                    errln!("{}", output::keeper_exception_message(&err, Some(path)));
                }
                if matches!(err, Error::EphemeralOnLocalSession) {
                    errln!("Unable to create ephemeral node on a local session");
                }
                Err(keeper_error(&err, Some(path)))
            }
        }
    }

    async fn set(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("s", false), ("v", true)], 3)?;
        let path = p.arg(1).unwrap();
        let version = version_flag(&p)?;
        validate_path(path, false)?;
        let stat = self
            .client
            .set_data(path, p.arg(2).unwrap().as_bytes(), version)
            .await
            .map_err(on(path))?;
        if p.has("s") {
            print!("{}", output::stat(&stat));
        }
        Ok(())
    }

    async fn delete(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("v", true)], 2)?;
        let mut version = version_flag(&p)?;
        if p.args.len() > 2 {
            errln!(
                "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead."
            );
            version = Some(parse_int(&p.args[2])?);
        }
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        self.client.delete(path, version).await.map_err(on(path))
    }

    /// `ZKUtil.deleteRecursive`: the tree breadth first, deleted leaves first in `multi`s
    /// of the batch size.
    async fn deleteall(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("b", true)], 2)?;
        let batch: usize = match p.value("b") {
            Some(v) => v
                .parse::<i32>()
                .map_err(|_| CliError::new("-b argument must be an int value"))?
                .max(1) as usize,
            None => 1000,
        };
        let root = p.arg(1).unwrap();
        validate_path(root, false)?;
        let mut tree = vec![root.to_string()];
        let mut queue = VecDeque::from([root.to_string()]);
        while let Some(node) = queue.pop_front() {
            let children = self.client.get_children(&node).await.map_err(on(&node))?;
            for c in children {
                let cp = child_path(&node, &c);
                queue.push_back(cp.clone());
                tree.push(cp);
            }
        }
        let mut ok = true;
        let ops: Vec<Op> = tree.iter().rev().map(|p| Op::delete(p, None)).collect();
        for chunk in ops.chunks(batch) {
            if self.client.multi(chunk.to_vec()).await.is_err() {
                ok = false;
                break;
            }
        }
        if !ok {
            errln!("Failed to delete some node(s) in the subtree!");
        }
        Ok(())
    }

    async fn get_acl(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("s", false)], 2)?;
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        let (acl, stat) = self.client.get_acl(path).await.map_err(on(path))?;
        for a in &acl {
            print!("{}", output::acl(a));
        }
        if p.has("s") {
            print!("{}", output::stat(&stat));
        }
        Ok(())
    }

    async fn set_acl(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("s", false), ("v", true), ("R", false)], 3)?;
        let path = p.arg(1).unwrap();
        let acl = output::parse_acl(p.arg(2).unwrap());
        let version = version_flag(&p)?;
        validate_path(path, false)?;
        if p.has("R") {
            self.client.get_data(path).await.map_err(on(path))?;
            let mut stack = vec![path.to_string()];
            while let Some(node) = stack.pop() {
                if let Err(e) = self.client.set_acl(&node, &acl, version).await {
                    print!("{}", output::keeper_exception_message(&e, Some(&node)));
                }
                let Ok(mut children) = self.client.get_children(&node).await else {
                    continue;
                };
                children.sort();
                stack.extend(children.iter().rev().map(|c| child_path(&node, c)));
            }
            return Ok(());
        }
        let stat = self
            .client
            .set_acl(path, &acl, version)
            .await
            .map_err(on(path))?;
        if p.has("s") {
            print!("{}", output::stat(&stat));
        }
        Ok(())
    }

    /// Like zkCli's `addAuthInfo`, nothing is printed: a refused credential ends the session
    /// with an `AuthFailed` event.
    async fn addauth(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[], 2)?;
        let auth = p.arg(2).unwrap_or("");
        let _ = self
            .client
            .add_auth(p.arg(1).unwrap(), auth.as_bytes())
            .await;
        Ok(())
    }

    async fn sync(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[], 2)?;
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        match self.client.sync(path).await {
            Ok(()) => println!("Sync is OK"),
            Err(e) => println!("Sync has failed. rc={}", error_code(&e)),
        }
        Ok(())
    }

    /// `addWatch`: like zkCli, a mode given once stays the default for later calls.
    async fn add_watch(&self, words: &[String], mode: &mut AddWatchMode) -> Result<(), CliError> {
        let p = parse(words, &[("m", true)])?;
        if p.args.len() != 2 {
            return Err(CliError::new(usage_of("addWatch")));
        }
        if let Some(m) = p.value("m") {
            *mode = match m.to_uppercase().as_str() {
                "PERSISTENT" => AddWatchMode::Persistent,
                "PERSISTENT_RECURSIVE" => AddWatchMode::PersistentRecursive,
                _ => return Err(CliError::new(usage_of("addWatch"))),
            };
        }
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        let stream = self.client.add_watch(path, *mode).await.map_err(on(path))?;
        self.watch_persistent(stream, path, *mode == AddWatchMode::PersistentRecursive);
        Ok(())
    }

    async fn remove_watches(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(
            words,
            &[("c", false), ("d", false), ("a", false), ("l", false)],
            2,
        )?;
        let path = p.arg(1).unwrap();
        let kind = if p.has("c") {
            WatcherType::Children
        } else if p.has("d") {
            WatcherType::Data
        } else {
            WatcherType::Any
        };
        validate_path(path, false)?;
        self.client
            .remove_watches(path, kind)
            .await
            .map_err(on(path))
    }

    async fn get_ephemerals(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[], 1)?;
        let path = p.arg(1).unwrap_or("/");
        validate_path(path, false)?;
        let eph = self.client.get_ephemerals(path).await.map_err(on(path))?;
        println!("{}", output::java_list(&eph));
        Ok(())
    }

    async fn all_children(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[], 2)?;
        let path = p.arg(1).unwrap();
        validate_path(path, false)?;
        let n = self
            .client
            .get_all_children_number(path)
            .await
            .map_err(on(path))?;
        println!("{n}");
        Ok(())
    }

    async fn whoami(&self) -> Result<(), CliError> {
        let ids = self
            .client
            .who_am_i()
            .await
            .map_err(|e| CliError::new(output::keeper_exception_message(&e, None)))?;
        println!("Auth scheme: User");
        for i in ids {
            println!("{}: {}", i.auth_scheme, i.user);
        }
        Ok(())
    }

    /// `config`: the data of `/zookeeper/config`.
    async fn config(&self, words: &[String]) -> Result<(), CliError> {
        let p = Self::parse(words, &[("s", false), ("w", false), ("c", false)], 1)?;
        let path = "/zookeeper/config";
        let (data, stat) = self.get_nullable(path, p.has("w")).await?;
        let text = data_string(data.as_deref());
        if p.has("c") {
            println!("{}", client_config(&text));
        } else {
            println!("{text}");
        }
        if p.has("s") {
            print!("{}", output::stat(&stat));
        }
        Ok(())
    }

    /// `reconfig`: sent as zkCli sends it; the server's answer is printed as zkCli prints it.
    async fn reconfig(&self, words: &[String]) -> Result<(), CliError> {
        let p = parse(
            words,
            &[
                ("s", false),
                ("v", true),
                ("file", true),
                ("members", true),
                ("add", true),
                ("remove", true),
            ],
        )?;
        let (file, members) = (p.has("file"), p.has("members"));
        let (add, remove) = (p.has("add"), p.has("remove"));
        if !(file || members || add || remove) {
            return Err(CliError::new(usage_of("reconfig")));
        }
        let version = match p.value("v") {
            Some(v) => i64::from_str_radix(v, 16).map_err(|_| {
                CliError::new("-v must be followed by a long (configuration version)")
            })?,
            None => -1,
        };
        if (file || members) && (add || remove) {
            return Err(CliError::new(
                "Can't use -file or -members together with -add or -remove (mixing incremental and non-incremental modes is not allowed)",
            ));
        }
        if file && members {
            return Err(CliError::new(
                "Can't use -file and -members together (conflicting non-incremental modes)",
            ));
        }
        let lower = |f: &str| p.value(f).map(str::to_lowercase).unwrap_or_default();
        let new_members = if file {
            let f = p.value("file").unwrap();
            let text = std::fs::read_to_string(f)
                .map_err(|e| CliError::new(format!("Error processing {f}{e}")))?;
            text.lines()
                .map(str::trim)
                .filter(|l| {
                    l.starts_with("server.") || l.starts_with("group") || l.starts_with("weight")
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            lower("members")
        };
        let (data, stat) = self
            .client
            .reconfig(&lower("add"), &lower("remove"), &new_members, version)
            .await
            .map_err(|e| keeper_error(&e, None))?;
        println!(
            "Committed new configuration:\n{}",
            String::from_utf8_lossy(&data)
        );
        if p.has("s") {
            print!("{}", output::stat(&stat));
        }
        Ok(())
    }
}

/// The zkCli error for a failed call on `path`.
fn on(path: &str) -> impl FnOnce(Error) -> CliError + '_ {
    move |e| keeper_error(&e, Some(path))
}

/// `parent/child`, without doubling the root's slash.
pub fn child_path(parent: &str, child: &str) -> String {
    if parent == "/" {
        format!("/{child}")
    } else {
        format!("{parent}/{child}")
    }
}

/// Data as zkCli prints it: `null` for no data, else UTF-8 (bad bytes replaced).
fn data_string(data: Option<&[u8]>) -> String {
    match data {
        None => "null".to_string(),
        Some(d) => String::from_utf8_lossy(d).into_owned(),
    }
}

fn parse_int(v: &str) -> Result<i32, CliError> {
    v.parse().map_err(|_| {
        CliError::new(format!(
            "java.lang.NumberFormatException: For input string: \"{v}\""
        ))
    })
}

fn version_flag(p: &Parsed) -> Result<Option<i32>, CliError> {
    p.value("v").map(parse_int).transpose()
}

/// The numeric code zkCli's `sync` callback reports.
fn error_code(e: &Error) -> i32 {
    use corral_client::ErrorCode as C;
    let code = match e {
        Error::NoNode => C::NoNode,
        Error::NoAuth => C::NoAuth,
        Error::BadArguments => C::BadArguments,
        Error::SessionExpired | Error::Closed => C::SessionExpired,
        _ => C::ConnectionLoss,
    };
    code.as_i32()
}

/// `ConfigUtils.getClientConfigStr`: `version host:port,...` of the voting members.
fn client_config(config: &str) -> String {
    let mut version = "";
    let mut clients = Vec::new();
    for line in config.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        if k == "version" {
            version = v;
        } else if k.starts_with("server.") {
            let (server, client) = v.split_once(';').unwrap_or((v, ""));
            if client.is_empty() || server.ends_with(":observer") {
                continue;
            }
            let host = server.split(':').next().unwrap_or("");
            match client.rsplit_once(':') {
                Some((h, port)) if h != "0.0.0.0" => clients.push(format!("{h}:{port}")),
                Some((_, port)) => clients.push(format!("{host}:{port}")),
                None => clients.push(format!("{host}:{client}")),
            }
        }
    }
    format!("{version} {}", clients.join(","))
}
