//! [`FileStore`]: tokens in one JSON file, so that they survive a restart.
//!
//! Every change is a read-modify-write under an exclusive lock on a sidecar
//! `<file>.lock`, written to a temporary file in the same folder (mode 0600) and
//! renamed over the old one: a crash mid-write never leaves a torn file, and
//! processes sharing the file never lose each other's entries. A file that is not
//! ours (or is damaged) is reported, ignored when reading, and never overwritten.
//!
//! The fetch lock that lets processes sharing the file send one request between
//! them is a lease in a second file, `<file>.leases`, changed under the same
//! sidecar lock: taken when free or run out, renewed by its holder (compare and
//! extend) while its fetch runs, released by its holder only. A process that dies
//! holding one delays the others at most one lease.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use super::{LockOutcome, StoreKey, StoreLock, StoredToken, TokenStore};
use crate::model::{Error, ErrorKind, Result};
use crate::step::BoxFuture;

/// The format marker of the files this store writes.
const FORMAT: &str = "tokenfetch-store/1";

/// The format marker of the lease file.
const LEASES_FORMAT: &str = "tokenfetch-leases/1";

/// The fetch leases, by store key.
#[derive(Serialize, Deserialize)]
struct Leases {
    format: String,
    leases: BTreeMap<String, Lease>,
}

/// Who holds a fetch lock, and until when unless renewed.
#[derive(Serialize, Deserialize)]
struct Lease {
    id: String,
    until: DateTime<Utc>,
}

/// A token store in a file.
///
/// ```no_run
/// use tokenfetch::{Engine, FileStore};
///
/// let engine = Engine::builder()
///     .store(FileStore::new("/var/lib/my-app/tokens.json"))
///     .build()?;
/// # Ok::<_, tokenfetch::Error>(())
/// ```
///
/// The file holds tokens in clear (mode 0600 on Unix): keep it where you would
/// keep the credentials themselves.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: Arc<PathBuf>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Contents {
    format: String,
    pub(crate) tokens: BTreeMap<String, StoredToken>,
}

impl Default for Contents {
    fn default() -> Self {
        Contents {
            format: FORMAT.to_owned(),
            tokens: BTreeMap::new(),
        }
    }
}

impl FileStore {
    /// A store in the file at `path`; the file is created on the first save, its
    /// folder must exist.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: Arc::new(path.into()),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on a blocking thread, turning I/O errors into errors naming the file.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Path) -> Result<T> + Send + 'static,
    {
        let path = Arc::clone(&self.path);
        tokio::task::spawn_blocking(move || f(&path))
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::Internal,
                    "the token file task panicked or its runtime shut down",
                )
            })?
    }

    fn read(path: &Path) -> Result<Contents> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Contents::default()),
            Err(error) => return Err(io_error(path, "read", error)),
        };
        Self::parse(path, &bytes)
    }

    /// The contents of a token file read from `path`.
    pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<Contents> {
        match serde_json::from_slice::<Contents>(bytes) {
            Ok(contents) if contents.format == FORMAT => Ok(contents),
            _ => Err(Error::store(format!(
                "`{}` is not a tokenfetch token file, or it is damaged; it is left alone: move it away or choose another path",
                path.display()
            ))),
        }
    }

    /// Runs `f` holding the exclusive sidecar lock `<file>.lock`.
    fn locked<T>(path: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let lock_path = sidecar(path, "lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|error| io_error(&lock_path, "open", error))?;
        lock.lock()
            .map_err(|error| io_error(&lock_path, "lock", error))?;
        let result = f();
        drop(lock);
        result
    }

    /// Changes the file under the sidecar lock, writing it atomically.
    fn update(path: &Path, change: impl FnOnce(&mut Contents)) -> Result<()> {
        Self::locked(path, || {
            let mut contents = Self::read(path)?;
            change(&mut contents);
            let now = Utc::now();
            contents.tokens.retain(|_, stored| stored.expires_at > now);
            let bytes = serde_json::to_vec_pretty(&contents)
                .map_err(|error| Error::store("cannot encode the token file").with_source(error))?;
            replace(path, &bytes)
        })
    }

    /// Changes the lease file under the sidecar lock, dropping leases that ran
    /// out; `change` says what it did.
    fn update_leases<T>(path: &Path, change: impl FnOnce(&mut Leases) -> T) -> Result<T> {
        let leases_path = sidecar(path, "leases");
        Self::locked(path, || {
            let mut leases = match fs::read(&leases_path) {
                Ok(bytes) => match serde_json::from_slice::<Leases>(&bytes) {
                    Ok(leases) if leases.format == LEASES_FORMAT => leases,
                    _ => {
                        return Err(Error::store(format!(
                            "`{}` is not a tokenfetch lease file, or it is damaged; it is left alone: move it away",
                            leases_path.display()
                        )));
                    }
                },
                Err(error) if error.kind() == io::ErrorKind::NotFound => Leases {
                    format: LEASES_FORMAT.to_owned(),
                    leases: BTreeMap::new(),
                },
                Err(error) => return Err(io_error(&leases_path, "read", error)),
            };
            let now = Utc::now();
            leases.leases.retain(|_, lease| lease.until > now);
            let outcome = change(&mut leases);
            let bytes = serde_json::to_vec(&leases)
                .map_err(|error| Error::store("cannot encode the lease file").with_source(error))?;
            replace(&leases_path, &bytes)?;
            Ok(outcome)
        })
    }
}

/// When a lease taken or renewed now for `ttl` runs out.
fn lease_end(ttl: std::time::Duration) -> DateTime<Utc> {
    let ttl = chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
    Utc::now()
        .checked_add_signed(ttl)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Replaces the file at `path` atomically: a private temporary file beside it,
/// flushed, then renamed over it.
fn replace(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = sidecar(path, &format!("tmp.{}", std::process::id()));
    write_private(&temporary, bytes).map_err(|error| io_error(&temporary, "write", error))?;
    fs::rename(&temporary, path).map_err(|error| {
        let _ = fs::remove_file(&temporary);
        io_error(path, "replace", error)
    })
}

impl TokenStore for FileStore {
    fn load<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<Option<StoredToken>>> {
        let key = key.as_str().to_owned();
        Box::pin(self.run(move |path| {
            let mut contents = Self::read(path)?;
            Ok(contents
                .tokens
                .remove(&key)
                .filter(|stored| !stored.remaining().is_zero()))
        }))
    }

    fn save<'a>(&'a self, key: &'a StoreKey, token: &'a StoredToken) -> BoxFuture<'a, Result<()>> {
        let (key, token) = (key.as_str().to_owned(), token.clone());
        Box::pin(self.run(move |path| {
            Self::update(path, |contents| {
                contents.tokens.insert(key, token);
            })
        }))
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> BoxFuture<'a, Result<()>> {
        let key = key.as_str().to_owned();
        Box::pin(self.run(move |path| {
            Self::update(path, |contents| {
                contents.tokens.remove(&key);
            })
        }))
    }

    fn lock<'a>(
        &'a self,
        key: &'a StoreKey,
        ttl: std::time::Duration,
    ) -> BoxFuture<'a, Result<LockOutcome>> {
        let key = key.as_str().to_owned();
        Box::pin(self.run(move |path| {
            Self::update_leases(path, |leases| {
                if leases.leases.contains_key(&key) {
                    return LockOutcome::Busy;
                }
                let lock = StoreLock::new();
                let lease = Lease {
                    id: lock.id().to_owned(),
                    until: lease_end(ttl),
                };
                leases.leases.insert(key, lease);
                LockOutcome::Acquired(lock)
            })
        }))
    }

    fn extend<'a>(
        &'a self,
        key: &'a StoreKey,
        lock: &'a StoreLock,
        ttl: std::time::Duration,
    ) -> BoxFuture<'a, Result<bool>> {
        let (key, id) = (key.as_str().to_owned(), lock.id().to_owned());
        Box::pin(self.run(move |path| {
            Self::update_leases(path, |leases| match leases.leases.get_mut(&key) {
                Some(lease) if lease.id == id => {
                    lease.until = lease_end(ttl);
                    true
                }
                _ => false,
            })
        }))
    }

    fn unlock<'a>(&'a self, key: &'a StoreKey, lock: &'a StoreLock) -> BoxFuture<'a, Result<()>> {
        let (key, id) = (key.as_str().to_owned(), lock.id().to_owned());
        Box::pin(self.run(move |path| {
            Self::update_leases(path, |leases| {
                if leases.leases.get(&key).is_some_and(|lease| lease.id == id) {
                    leases.leases.remove(&key);
                }
            })
        }))
    }
}

fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".");
    name.push(suffix);
    path.with_file_name(name)
}

/// Writes a new file readable by its owner only, and flushes it to disk.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file: File = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn io_error(path: &Path, action: &str, error: io::Error) -> Error {
    Error::store(format!(
        "cannot {action} the token file `{}`",
        path.display()
    ))
    .with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TokenData;
    use crate::step::StepIdentity;

    fn temp_path(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tokenfetch-test-{}-{name}", fastrand::u64(..)));
        fs::create_dir_all(&dir).unwrap();
        dir.join("tokens.json")
    }

    fn stored(token: &str) -> StoredToken {
        let now = chrono::Utc::now();
        StoredToken {
            token: TokenData::new(token),
            fetched_at: now,
            expires_at: now + chrono::Duration::seconds(600),
        }
    }

    fn key(name: &str) -> StoreKey {
        StoreKey::new(name, StepIdentity::new())
    }

    #[tokio::test]
    async fn saves_loads_and_removes() {
        let path = temp_path("roundtrip");
        let store = FileStore::new(&path);
        assert!(store.load(&key("a")).await.unwrap().is_none());
        store.save(&key("a"), &stored("ta")).await.unwrap();
        store.save(&key("b"), &stored("tb")).await.unwrap();
        let other = FileStore::new(&path);
        assert_eq!(
            other
                .load(&key("a"))
                .await
                .unwrap()
                .unwrap()
                .token
                .access_token()
                .expose(),
            "ta"
        );
        other.remove(&key("a")).await.unwrap();
        assert!(store.load(&key("a")).await.unwrap().is_none());
        assert!(store.load(&key("b")).await.unwrap().is_some());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[tokio::test]
    async fn foreign_file_is_reported_and_left_alone() {
        let path = temp_path("foreign");
        fs::write(&path, b"{\"not\": \"ours\"").unwrap();
        let store = FileStore::new(&path);
        let error = store.load(&key("a")).await.unwrap_err();
        assert!(
            error.to_string().contains("not a tokenfetch token file"),
            "{error}"
        );
        assert!(store.save(&key("a"), &stored("t")).await.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"{\"not\": \"ours\"");
    }

    #[tokio::test]
    async fn concurrent_writers_keep_every_entry() {
        let path = temp_path("concurrent");
        let writers: Vec<_> = (0..16)
            .map(|i| {
                let store = FileStore::new(&path);
                tokio::spawn(async move { store.save(&key(&format!("s{i}")), &stored("t")).await })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let store = FileStore::new(&path);
        for i in 0..16 {
            assert!(
                store.load(&key(&format!("s{i}"))).await.unwrap().is_some(),
                "s{i} lost"
            );
        }
    }
}
