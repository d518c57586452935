//! The SQL both backends run. SQLite and PostgreSQL accept the same statements here (`$N`
//! placeholders, `ON CONFLICT`), so the query code is written once and instantiated per backend
//! by [`impl_sql_store!`]; each backend module keeps its own connection set-up and migrations.

/// Envelope rows per INSERT statement (5 parameters each; far below both databases' limits).
pub(crate) const ENVELOPE_ROWS_PER_INSERT: usize = 100;

/// Most topics one [`super::Store::page`] reads in one statement.
pub(crate) const TOPICS_PER_STATEMENT: usize = 500;

/// Implements [`super::Store`] for `$store` (a struct with `pool` (reads) and `writer` (the
/// append transaction) `sqlx::Pool<$db>` fields, whose module has a `candidates` function that
/// builds the first statement of a page).
macro_rules! impl_sql_store {
    ($store:ty, $db:ty, $backend:literal) => {
        use $crate::store::sql::ENVELOPE_ROWS_PER_INSERT;

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn last_sequence_id(
                &self,
                originator_id: u32,
            ) -> Result<u64, $crate::store::StoreError> {
                let max: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(sequence_id) FROM envelopes WHERE originator_id = $1",
                )
                .bind(i64::from(originator_id))
                .fetch_one(&self.pool)
                .await?;
                $crate::store::to_u64(max.unwrap_or(0), "sequence id")
            }

            async fn originators(&self) -> Result<Vec<u32>, $crate::store::StoreError> {
                let rows: Vec<i64> = sqlx::query_scalar(
                    "SELECT originator_id FROM originators ORDER BY originator_id",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter()
                    .map(|id| {
                        u32::try_from(id).map_err(|_| {
                            $crate::store::StoreError::Corrupt(format!("originator id {id}"))
                        })
                    })
                    .collect()
            }

            async fn append(
                &self,
                batch: &$crate::store::AppendBatch,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::{to_i64, StoreError};
                let mut tx = self.writer.begin().await?;
                let mut originators = std::collections::BTreeSet::new();
                // Multi-row INSERTs: one statement per chunk instead of per row (with sqlx each
                // statement is a round trip to the connection's worker thread).
                for chunk in batch.envelopes.chunks(ENVELOPE_ROWS_PER_INSERT) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO envelopes \
                         (originator_id, sequence_id, topic, received_at_ns, envelope) ",
                    );
                    let mut invalid = None;
                    insert.push_values(chunk, |mut row, env| {
                        originators.insert(env.originator_id);
                        let sequence_id = to_i64(env.sequence_id, "sequence id")
                            .unwrap_or_else(|e| {
                                invalid = Some(e);
                                0
                            });
                        row.push_bind(i64::from(env.originator_id))
                            .push_bind(sequence_id)
                            .push_bind(env.topic.as_slice())
                            .push_bind(env.received_at_ns)
                            .push_bind(env.envelope.as_slice());
                    });
                    if let Some(err) = invalid {
                        return Err(err);
                    }
                    insert
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict_or(e, "envelope sequence id already stored"))?;
                }
                for originator in originators {
                    sqlx::query(
                        "INSERT INTO originators (originator_id) VALUES ($1) \
                         ON CONFLICT (originator_id) DO NOTHING",
                    )
                    .bind(i64::from(originator))
                    .execute(&mut *tx)
                    .await?;
                }
                for change in &batch.identity {
                    let new_version = to_i64(change.new_version, "identity version")?;
                    let written = match change.expected_version {
                        None => sqlx::query(
                            "INSERT INTO identity_states (inbox_id, version, state) \
                             VALUES ($1, $2, $3) ON CONFLICT (inbox_id) DO NOTHING",
                        )
                        .bind(&change.inbox_id[..])
                        .bind(new_version)
                        .bind(&change.state)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                        Some(expected) => sqlx::query(
                            "UPDATE identity_states SET version = $1, state = $2 \
                             WHERE inbox_id = $3 AND version = $4",
                        )
                        .bind(new_version)
                        .bind(&change.state)
                        .bind(&change.inbox_id[..])
                        .bind(to_i64(expected, "identity version")?)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                    };
                    if written != 1 {
                        return Err(StoreError::Conflict(format!(
                            "identity of inbox {} changed concurrently",
                            hex::encode(change.inbox_id)
                        )));
                    }
                }
                // All releases before all claims, so an address can move between inboxes
                // within one batch.
                for change in &batch.identity {
                    for address in &change.removed_addresses {
                        sqlx::query(
                            "DELETE FROM address_inboxes WHERE address = $1 AND inbox_id = $2",
                        )
                        .bind(&address[..])
                        .bind(&change.inbox_id[..])
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                for change in &batch.identity {
                    for address in &change.added_addresses {
                        sqlx::query(
                            "INSERT INTO address_inboxes (address, inbox_id) VALUES ($1, $2)",
                        )
                        .bind(&address[..])
                        .bind(&change.inbox_id[..])
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| conflict_or(e, "wallet address belongs to another inbox"))?;
                    }
                }
                for kp in &batch.key_packages {
                    sqlx::query(
                        "INSERT INTO key_packages \
                         (installation_key, inbox_id, originator_id, sequence_id, not_after) \
                         VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (installation_key) DO UPDATE SET \
                         inbox_id = excluded.inbox_id, originator_id = excluded.originator_id, \
                         sequence_id = excluded.sequence_id, not_after = excluded.not_after",
                    )
                    .bind(&kp.installation_key[..])
                    .bind(&kp.inbox_id[..])
                    .bind(i64::from(kp.originator_id))
                    .bind(to_i64(kp.sequence_id, "sequence id")?)
                    .bind(to_i64(kp.not_after, "key package expiry")?)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                self.appended();
                Ok(())
            }

            async fn register_node(
                &self,
                node_id: u32,
                public_key: &[u8; 32],
            ) -> Result<(), $crate::store::StoreError> {
                sqlx::query(
                    "INSERT INTO nodes (node_id, public_key) VALUES ($1, $2) \
                     ON CONFLICT (node_id) DO NOTHING",
                )
                .bind(i64::from(node_id))
                .bind(&public_key[..])
                .execute(&self.writer)
                .await?;
                let stored: Vec<u8> =
                    sqlx::query_scalar("SELECT public_key FROM nodes WHERE node_id = $1")
                        .bind(i64::from(node_id))
                        .fetch_one(&self.writer)
                        .await?;
                if stored != public_key[..] {
                    return Err($crate::store::StoreError::Conflict(format!(
                        "node id {node_id} is registered here with another key"
                    )));
                }
                Ok(())
            }

            async fn nodes(&self) -> Result<Vec<(u32, [u8; 32])>, $crate::store::StoreError> {
                let rows: Vec<(i64, Vec<u8>)> =
                    sqlx::query_as("SELECT node_id, public_key FROM nodes ORDER BY node_id")
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(id, key)| {
                        let id = u32::try_from(id).map_err(|_| {
                            $crate::store::StoreError::Corrupt(format!("node id {id}"))
                        })?;
                        Ok((id, $crate::store::fixed(key, "node public key")?))
                    })
                    .collect()
            }

            async fn page(
                &self,
                reads: &[(Vec<u8>, u64)],
                originator_id: u32,
                limit: u32,
                max_bytes: usize,
            ) -> Result<(Vec<$crate::store::StoredEnvelope>, bool), $crate::store::StoreError> {
                use $crate::store::sql::TOPICS_PER_STATEMENT;
                // First the candidates: per topic at most `limit` sequence ids after its
                // cursor, with their sizes (no envelope bytes read), merged by sequence id.
                let mut candidates: Vec<(i64, i64)> = Vec::new();
                for chunk in reads.chunks(TOPICS_PER_STATEMENT) {
                    let mut query = candidates_query(chunk, originator_id, limit)?;
                    let rows: Vec<(i64, i64)> = query.build_query_as().fetch_all(&self.pool).await?;
                    candidates.extend(rows);
                }
                candidates.sort_unstable();
                // Then the page: by count and bytes, at least one.
                let mut chosen = Vec::new();
                let mut bytes = 0usize;
                for &(sequence_id, size) in &candidates {
                    let size = usize::try_from(size).unwrap_or(usize::MAX);
                    if chosen.len() as u64 >= u64::from(limit)
                        || (!chosen.is_empty() && bytes.saturating_add(size) > max_bytes)
                    {
                        break;
                    }
                    bytes = bytes.saturating_add(size);
                    chosen.push(sequence_id);
                }
                let more = chosen.len() < candidates.len();
                if chosen.is_empty() {
                    return Ok((Vec::new(), more));
                }
                let mut fetch = sqlx::QueryBuilder::<$db>::new(
                    "SELECT originator_id, sequence_id, topic, received_at_ns, envelope \
                     FROM envelopes WHERE originator_id = ",
                );
                fetch.push_bind(i64::from(originator_id));
                fetch.push(" AND sequence_id IN (");
                let mut ids = fetch.separated(", ");
                for id in &chosen {
                    ids.push_bind(*id);
                }
                fetch.push(") ORDER BY sequence_id");
                let rows: Vec<(i64, i64, Vec<u8>, i64, Vec<u8>)> =
                    fetch.build_query_as().fetch_all(&self.pool).await?;
                let envelopes = rows
                    .into_iter()
                    .map(stored_envelope)
                    .collect::<Result<Vec<_>, _>>()?;
                Ok((envelopes, more))
            }

            async fn query(
                &self,
                topic: &[u8],
                originator_id: u32,
                after: u64,
                limit: u32,
            ) -> Result<Vec<$crate::store::StoredEnvelope>, $crate::store::StoreError> {
                let rows: Vec<(i64, i64, Vec<u8>, i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT originator_id, sequence_id, topic, received_at_ns, envelope \
                     FROM envelopes \
                     WHERE topic = $1 AND originator_id = $2 AND sequence_id > $3 \
                     ORDER BY sequence_id LIMIT $4",
                )
                .bind(topic)
                .bind(i64::from(originator_id))
                .bind($crate::store::to_i64(after, "cursor")?)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.into_iter().map(stored_envelope).collect()
            }

            async fn identity_state(
                &self,
                inbox_id: &[u8; 32],
            ) -> Result<Option<$crate::store::StoredIdentityState>, $crate::store::StoreError>
            {
                let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
                    "SELECT version, state FROM identity_states WHERE inbox_id = $1",
                )
                .bind(&inbox_id[..])
                .fetch_optional(&self.pool)
                .await?;
                row.map(|(version, state)| {
                    Ok($crate::store::StoredIdentityState {
                        version: $crate::store::to_u64(version, "identity version")?,
                        state,
                    })
                })
                .transpose()
            }

            async fn inbox_ids(
                &self,
                addresses: &[[u8; 20]],
            ) -> Result<Vec<Option<[u8; 32]>>, $crate::store::StoreError> {
                let mut out = Vec::with_capacity(addresses.len());
                for address in addresses {
                    let inbox: Option<Vec<u8>> = sqlx::query_scalar(
                        "SELECT inbox_id FROM address_inboxes WHERE address = $1",
                    )
                    .bind(&address[..])
                    .fetch_optional(&self.pool)
                    .await?;
                    out.push(inbox.map(|b| $crate::store::fixed(b, "inbox id")).transpose()?);
                }
                Ok(out)
            }

            async fn key_packages(
                &self,
                installation_keys: &[[u8; 32]],
                now: u64,
            ) -> Result<Vec<Option<$crate::store::StoredKeyPackage>>, $crate::store::StoreError>
            {
                let now = $crate::store::to_i64(now, "time")?;
                let mut out = Vec::with_capacity(installation_keys.len());
                for key in installation_keys {
                    let row: Option<(Vec<u8>, i64, i64, Vec<u8>, i64, Vec<u8>)> = sqlx::query_as(
                        "SELECT k.inbox_id, e.originator_id, e.sequence_id, e.topic, \
                         e.received_at_ns, e.envelope \
                         FROM key_packages k JOIN envelopes e \
                         ON e.originator_id = k.originator_id AND e.sequence_id = k.sequence_id \
                         WHERE k.installation_key = $1 AND k.not_after > $2",
                    )
                    .bind(&key[..])
                    .bind(now)
                    .fetch_optional(&self.pool)
                    .await?;
                    out.push(
                        row.map(|(inbox, o, s, t, r, e)| {
                            Ok::<_, $crate::store::StoreError>($crate::store::StoredKeyPackage {
                                inbox_id: $crate::store::fixed(inbox, "inbox id")?,
                                envelope: stored_envelope((o, s, t, r, e))?,
                            })
                        })
                        .transpose()?,
                    );
                }
                Ok(out)
            }
        }

        fn stored_envelope(
            (originator_id, sequence_id, topic, received_at_ns, envelope): (
                i64,
                i64,
                Vec<u8>,
                i64,
                Vec<u8>,
            ),
        ) -> Result<$crate::store::StoredEnvelope, $crate::store::StoreError> {
            Ok($crate::store::StoredEnvelope {
                originator_id: u32::try_from(originator_id).map_err(|_| {
                    $crate::store::StoreError::Corrupt(format!("originator id {originator_id}"))
                })?,
                sequence_id: $crate::store::to_u64(sequence_id, "sequence id")?,
                topic,
                received_at_ns,
                envelope,
            })
        }

        fn conflict_or(err: sqlx::Error, what: &str) -> $crate::store::StoreError {
            match &err {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    $crate::store::StoreError::Conflict(what.to_owned())
                }
                _ => $crate::store::StoreError::Unavailable(err),
            }
        }
    };
}

pub(crate) use impl_sql_store;
