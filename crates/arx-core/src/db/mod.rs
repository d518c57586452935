//! The engine database: a pool for reads, one connection for every write transaction, WAL
//! checkpoints in the background, and the MLS groups kept in memory between transactions.
//!
//! **One writer.** Every write transaction runs on the same connection (`BEGIN IMMEDIATE`),
//! so writers of this process queue in order instead of polling SQLite's lock.
//!
//! **Checkpoints.** With SQLite's automatic checkpoint, the commit that fills the WAL copies it
//! into the database and syncs the file, on the path of whatever was being sent or applied. The
//! engine checkpoints shortly after writes instead, from a background task on a read
//! connection (a passive checkpoint never blocks a writer); the automatic checkpoint stays as a
//! backstop for a much larger WAL.
//!
//! **Groups in memory.** Loading an MLS group reads and decodes about a dozen rows; a message
//! is a fraction of that work. A group taken for a write transaction is kept after that
//! transaction commits, and the next transaction of the group takes it instead of loading it.
//! What is kept always equals what is stored:
//! - a group leaves the cache when it is taken, and is kept again only after its transaction
//!   committed, so a rollback (or a cancelled future) leaves nothing behind;
//! - it is kept only if nothing else took or forgot that group since it was taken (every take
//!   and forget counts), so a writer that came in between wins;
//! - anything else that writes a group's MLS state without taking it (creating, joining,
//!   deleting) forgets it inside its transaction;
//! - another process (say `arx send` beside `arx stream`) may write the same database: the
//!   writer connection's `PRAGMA data_version` changes when any other connection commits, and
//!   then everything kept is dropped.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

use openmls::prelude::MlsGroup;
use sqlx::{sqlite::SqlitePoolOptions, SqlitePool};

use crate::{
    error::CoreError,
    mls::{load_group, MlsProvider},
};

pub(crate) mod consent;
pub(crate) mod conversations;
pub(crate) mod cursors;
pub(crate) mod effects;
pub(crate) mod installation;
pub(crate) mod intents;
pub(crate) mod key_packages;
pub(crate) mod messages;
pub(crate) mod own_payloads;
pub mod skipped;
#[cfg(test)]
mod transitions;

pub use consent::Consent;
pub use conversations::{ConversationKind, ConversationState};
pub use intents::IntentState;
pub use messages::Delivery;

/// Whether a guarded state change was made. A change is refused, changing nothing, when the row
/// is not in a state that change starts from (or is gone).
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transition {
    Made,
    Refused,
}

impl Transition {
    fn of(rows_affected: u64) -> Self {
        if rows_affected > 0 {
            Self::Made
        } else {
            Self::Refused
        }
    }

    /// Whether the change was made.
    #[cfg(test)]
    pub(crate) fn made(self) -> bool {
        self == Self::Made
    }

    /// The change, which the caller's own reads say must be possible, as an error if refused.
    pub(crate) fn required(self, what: &'static str) -> Result<(), CoreError> {
        match self {
            Self::Made => Ok(()),
            Self::Refused => Err(CoreError::StateConflict(what)),
        }
    }
}

/// Groups kept in memory at most (a big group's tree is large; most use is in a few groups).
const MAX_KEPT_GROUPS: usize = 32;

/// The engine database's connections.
pub(crate) struct Database {
    /// Reads (and the rare single-statement write).
    pub(crate) read: SqlitePool,
    /// The one connection write transactions run on.
    writer: SqlitePool,
    /// How many connections the writer pool has opened: `data_version` is per connection.
    writer_connections: Arc<AtomicU64>,
    /// Checkpoints the WAL shortly after writes (stops with the database).
    checkpointer: arx_sqlite::Checkpointer,
    pub(crate) groups: GroupCache,
}

impl Database {
    /// Opens (creating if missing) the SQLite database at `path` and brings its schema (the
    /// engine's migrations and openmls_sqlx_storage's) up to date.
    pub(crate) async fn open(path: &std::path::Path) -> Result<Self, CoreError> {
        let url = format!("sqlite://{}", path.display());
        let options = arx_sqlite::connect_options(&url)?;
        // No ping before each acquire: a SQLite connection is a local file that does not go
        // stale, and the ping is one more hand-off to the connection's thread per statement
        // run on the pool.
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        let writer_connections = Arc::new(AtomicU64::new(0));
        let opened = writer_connections.clone();
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(move |_, _| {
                let opened = opened.clone();
                Box::pin(async move {
                    opened.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/client").run(&read).await?;
        {
            let mut conn = read.acquire().await?;
            MlsProvider::migrate(&mut conn)?;
        }
        let checkpointer = arx_sqlite::Checkpointer::spawn(read.clone());
        Ok(Self {
            read,
            writer,
            writer_connections,
            checkpointer,
            groups: GroupCache::default(),
        })
    }

    /// A write transaction on the writer connection. `BEGIN IMMEDIATE` takes SQLite's write
    /// lock at the start (waiting under the busy timeout for other processes), so a transaction
    /// that reads MLS state and then writes cannot be invalidated in between.
    pub(crate) async fn write_tx(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, CoreError> {
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        self.checkpointer.wrote();
        Ok(tx)
    }

    /// The group as `tx` holds it: the copy kept in memory when it is still current, or else
    /// loaded. The caller keeps it again ([`GroupCache::keep`]) once `tx` has committed.
    pub(crate) async fn take_group(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
        group_id: &[u8],
    ) -> Result<(MlsGroup, Ticket), CoreError> {
        let data_version: i64 = sqlx::query_scalar("PRAGMA data_version")
            .fetch_one(&mut **tx)
            .await?;
        let writer = (self.writer_connections.load(Ordering::SeqCst), data_version);
        let (kept, ticket) = self.groups.take(group_id, writer);
        let group = match kept {
            Some(group) => group,
            None => load_group(&MlsProvider::new(tx), group_id)?,
        };
        Ok((group, ticket))
    }
}

/// The take of a group for one transaction: what proves nobody took it since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

/// MLS groups as the last committed transaction left them. See the module's notes. (Generic
/// only so that its rules are unit-tested without building MLS groups.)
pub(crate) struct GroupCache<G = MlsGroup> {
    inner: Mutex<Kept<G>>,
}

impl<G> Default for GroupCache<G> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Kept {
                writer: None,
                tickets: 0,
                groups: HashMap::new(),
            }),
        }
    }
}

struct Kept<G> {
    /// (writer connections opened, writer's `data_version`) when the groups were checked.
    writer: Option<(u64, i64)>,
    /// Counts every take and forget: a group is kept only with the ticket of its take.
    tickets: u64,
    /// Per group: the ticket of its last take or forget, and the group if kept.
    groups: HashMap<Vec<u8>, (u64, Option<G>)>,
}

impl<G> GroupCache<G> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Kept<G>> {
        // A panic while holding this lock cannot leave it half-changed in a way that matters:
        // at worst a group is missing and is loaded again.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, group_id: &[u8], writer: (u64, i64)) -> (Option<G>, Ticket) {
        let mut kept = self.lock();
        if kept.writer != Some(writer) {
            // Another connection (another process) wrote since: nothing kept can be trusted.
            kept.groups.clear();
            kept.writer = Some(writer);
        }
        kept.tickets += 1;
        let ticket = kept.tickets;
        let group = kept
            .groups
            .insert(group_id.to_vec(), (ticket, None))
            .and_then(|(_, group)| group);
        (group, Ticket(ticket))
    }

    /// Keeps a group taken by a transaction that has committed, unless another transaction
    /// took or forgot it since.
    pub(crate) fn keep(&self, group_id: &[u8], group: G, ticket: Ticket) {
        let mut kept = self.lock();
        let current = kept.groups.get(group_id).map(|(t, _)| *t);
        if current != Some(ticket.0) {
            return;
        }
        let held = kept.groups.values().filter(|(_, g)| g.is_some()).count();
        if held >= MAX_KEPT_GROUPS {
            // Make room: every other group is loaded again when next used.
            kept.groups.retain(|_, (_, g)| g.is_none());
        }
        kept.groups
            .insert(group_id.to_vec(), (ticket.0, Some(group)));
    }

    /// Drops what is kept of a group. Called inside the transaction of anything that writes
    /// the group's MLS state without taking it.
    pub(crate) fn forget(&self, group_id: &[u8]) {
        let mut kept = self.lock();
        kept.tickets += 1;
        let ticket = kept.tickets;
        kept.groups.insert(group_id.to_vec(), (ticket, None));
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.lock()
            .groups
            .values()
            .filter(|(_, g)| g.is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITER: (u64, i64) = (1, 7);

    #[test]
    fn a_group_kept_after_its_transaction_is_taken_by_the_next() {
        let cache = GroupCache::<u32>::default();
        let (none, ticket) = cache.take(b"g", WRITER);
        assert_eq!(none, None, "nothing is kept at first");
        cache.keep(b"g", 1, ticket);
        let (kept, ticket) = cache.take(b"g", WRITER);
        assert_eq!(kept, Some(1));
        let (again, _) = cache.take(b"g", WRITER);
        assert_eq!(
            again, None,
            "a taken group is not in the cache until kept again"
        );
        cache.keep(b"g", 2, ticket);
        assert_eq!(
            cache.take(b"g", WRITER).0,
            None,
            "a take since refuses the keep"
        );
    }

    #[test]
    fn a_group_forgotten_or_taken_since_is_not_kept() {
        let cache = GroupCache::<u32>::default();
        let (_, first) = cache.take(b"g", WRITER);
        cache.forget(b"g");
        cache.keep(b"g", 1, first);
        assert_eq!(cache.take(b"g", WRITER).0, None, "forgotten since the take");

        let (_, early) = cache.take(b"g", WRITER);
        let (_, late) = cache.take(b"g", WRITER);
        cache.keep(b"g", 1, early);
        assert_eq!(cache.kept(), 0, "the earlier take lost to the later one");
        cache.keep(b"g", 2, late);
        assert_eq!(cache.take(b"g", WRITER).0, Some(2));
    }

    #[test]
    fn a_write_by_another_connection_drops_every_group() {
        let cache = GroupCache::<u32>::default();
        for id in [b"a", b"b"] {
            let (_, ticket) = cache.take(id, WRITER);
            cache.keep(id, 1, ticket);
        }
        assert_eq!(cache.kept(), 2);
        // `data_version` moved: someone else committed.
        assert_eq!(cache.take(b"a", (1, 8)).0, None);
        assert_eq!(cache.kept(), 0);
        // A new writer connection counts the same, whatever its `data_version`.
        let (_, ticket) = cache.take(b"a", (1, 8));
        cache.keep(b"a", 3, ticket);
        assert_eq!(cache.take(b"a", (2, 8)).0, None);
    }

    #[test]
    fn at_most_the_limit_of_groups_is_kept() {
        let cache = GroupCache::<u32>::default();
        for i in 0..=MAX_KEPT_GROUPS as u32 {
            let id = i.to_be_bytes();
            let (_, ticket) = cache.take(&id, WRITER);
            cache.keep(&id, i, ticket);
            assert!(cache.kept() <= MAX_KEPT_GROUPS);
        }
    }
}
