//! The contract every [`Store`] must pass, written once and run against each backend.
//!
//! Each case is a `pub async fn case(store: &dyn Store)` that panics when the store breaks the
//! contract; it expects a new, empty store (one that has only run its migrations). A backend
//! runs the whole suite from its integration tests with [`contract_tests!`](crate::contract_tests),
//! which generates one `#[tokio::test]` per case:
//!
//! ```text
//! async fn fresh() -> (MyStore, TempDir) { /* a new store, and whatever must outlive it */ }
//! hongbao_store::contract_tests!(fresh);
//! ```
//!
//! The data is realistic because the core makes it: the suite runs real commands on a complete
//! in-memory [`World`] with a seeded random source and a fake clock, commits
//! [`World::take_changes`] to the store after every command (so later commands update rows
//! earlier ones inserted), with the transparency-log rows the engine would append for them, and
//! compares what the store loads back with the world's own entities, events and log. The world
//! is the second, independent path to every expected value.
//!
//! By area: `scenario.rs` (the world and the full scenario), `expect.rs` (expected answers and
//! assertions), and the cases in `entities.rs`, `commits.rs`, `queries.rs`, `log.rs` and
//! `shared.rs`. Compiled only with the feature `contract`, for the backends' tests.

mod commits;
mod entities;
mod expect;
mod log;
mod queries;
mod scenario;
mod shared;

pub use commits::{
    a_failing_commit_writes_nothing_at_all, a_world_with_due_work,
    dropping_a_write_transaction_rolls_it_back_and_frees_the_writer, due_respects_time_status_limit_and_order,
    the_schedule_upserts_moves_and_deletes_items_by_kind_and_entity,
    written_is_told_by_a_commit_that_lands_and_not_by_one_whose_rows_are_refused,
};
pub use entities::{
    a_new_store_holds_only_the_external_account, a_read_transaction_sees_one_snapshot,
    claim_of_and_claims_of_find_exactly_a_packets_claims, every_entity_round_trips_exactly_through_inserts_and_updates,
    freezes_are_listed_by_status_and_kind_newest_first, idempotency_records_round_trip_keyed_by_principal_and_key,
    missing_keys_load_as_none_or_an_empty_list, reports_and_cases_are_listed_newest_first,
    return_requests_are_listed_by_role_newest_first, seizures_are_listed_by_status_newest_first,
};
pub use expect::{assert_loads, assert_store_holds_world, fact_key, facts_of};
pub use log::{
    checkpoints_must_grow_and_cover_no_more_than_the_log, dump_returns_every_event_log_entry_and_checkpoint_in_order,
    latest_checkpoint_is_the_largest_committed_one, log_entries_pages_through_the_whole_log_in_index_order,
    log_index_of_and_log_entries_of_packet_find_a_transfers_and_a_packets_entries,
    log_indexes_must_continue_exactly_from_the_current_size,
    log_rows_and_a_checkpoint_commit_atomically_with_the_changes,
    log_size_counts_the_committed_entries_inside_a_write_transaction,
};
pub use queries::{
    dump_rebuilds_a_world_that_passes_the_invariant_check, expected_history,
    has_operator_is_true_only_once_an_operator_key_is_committed, history_pages_with_before_without_gaps_or_repeats,
    history_shows_a_wallets_own_transfers_newest_first_with_their_status,
    purge_idempotency_deletes_only_older_records_up_to_the_limit,
};
pub use scenario::{Cast, Scenario, T0, checkpoint, commit, full_scenario, lock, log_rows, unlock};
pub use shared::{
    a_covered_nonce_is_one_record_with_the_nonces_remembered_plainly,
    a_nonce_is_accepted_once_per_key_and_refused_again_until_it_expires,
    evidence_files_round_trip_exactly_and_the_same_upload_is_one_file,
    forget_nonces_deletes_only_records_expired_before_the_bound_up_to_the_limit,
    live_nonces_are_the_unexpired_records_soonest_first_up_to_the_limit, log_key_keeps_the_first_value_proposed,
    nonces_of_a_commit_are_stored_with_its_changes_and_only_with_them,
    nonces_remembered_together_answer_each_as_if_remembered_alone,
    secrets_are_found_by_prefix_and_replaced_only_where_unchanged,
    the_dev_clock_offset_starts_at_zero_and_only_moves_forward,
};

/// Generates one `#[tokio::test]` per contract case, in the module where it is invoked.
///
/// `$fresh` is a function or closure taking no arguments and returning a future of
/// `(store, guard)`: a new, empty store and a value that must live as long as the test (a
/// temporary directory, a database to drop); the guard is dropped after the store.
///
/// `contract_tests!(optional $fresh)` is for a backend that needs a server the machine may not
/// run: `$fresh` returns a future of `Option<(store, guard)>`, and `None` ends the test early.
/// Such a `$fresh` must say why it gave none (and fail instead where the server is required).
#[macro_export]
macro_rules! contract_tests {
    // First: `optional` could otherwise be taken for the start of an expression.
    (optional $fresh:expr) => {
        $crate::contract_tests!(@list optional $fresh);
    };
    ($fresh:expr) => {
        $crate::contract_tests!(@list required $fresh);
    };
    (@list $mode:ident $fresh:expr) => {
        $crate::contract_tests!(@cases $mode $fresh;
            a_new_store_holds_only_the_external_account,
            every_entity_round_trips_exactly_through_inserts_and_updates,
            missing_keys_load_as_none_or_an_empty_list,
            claim_of_and_claims_of_find_exactly_a_packets_claims,
            a_read_transaction_sees_one_snapshot,
            idempotency_records_round_trip_keyed_by_principal_and_key,
            a_failing_commit_writes_nothing_at_all,
            written_is_told_by_a_commit_that_lands_and_not_by_one_whose_rows_are_refused,
            dropping_a_write_transaction_rolls_it_back_and_frees_the_writer,
            due_respects_time_status_limit_and_order,
            the_schedule_upserts_moves_and_deletes_items_by_kind_and_entity,
            history_shows_a_wallets_own_transfers_newest_first_with_their_status,
            history_pages_with_before_without_gaps_or_repeats,
            dump_rebuilds_a_world_that_passes_the_invariant_check,
            purge_idempotency_deletes_only_older_records_up_to_the_limit,
            has_operator_is_true_only_once_an_operator_key_is_committed,
            log_rows_and_a_checkpoint_commit_atomically_with_the_changes,
            log_indexes_must_continue_exactly_from_the_current_size,
            log_size_counts_the_committed_entries_inside_a_write_transaction,
            log_entries_pages_through_the_whole_log_in_index_order,
            log_index_of_and_log_entries_of_packet_find_a_transfers_and_a_packets_entries,
            latest_checkpoint_is_the_largest_committed_one,
            checkpoints_must_grow_and_cover_no_more_than_the_log,
            dump_returns_every_event_log_entry_and_checkpoint_in_order,
            a_nonce_is_accepted_once_per_key_and_refused_again_until_it_expires,
            a_covered_nonce_is_one_record_with_the_nonces_remembered_plainly,
            nonces_remembered_together_answer_each_as_if_remembered_alone,
            forget_nonces_deletes_only_records_expired_before_the_bound_up_to_the_limit,
            the_dev_clock_offset_starts_at_zero_and_only_moves_forward,
            log_key_keeps_the_first_value_proposed,
            nonces_of_a_commit_are_stored_with_its_changes_and_only_with_them,
            live_nonces_are_the_unexpired_records_soonest_first_up_to_the_limit,
            secrets_are_found_by_prefix_and_replaced_only_where_unchanged,
            evidence_files_round_trip_exactly_and_the_same_upload_is_one_file,
            seizures_are_listed_by_status_newest_first,
            freezes_are_listed_by_status_and_kind_newest_first,
            reports_and_cases_are_listed_newest_first,
            return_requests_are_listed_by_role_newest_first,
        );
    };
    (@cases required $fresh:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, guard) = ($fresh)().await;
                $crate::contract::$case(&store).await;
                drop(store);
                drop(guard);
            }
        )+
    };
    (@cases optional $fresh:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some((store, guard)) = ($fresh)().await else { return };
                $crate::contract::$case(&store).await;
                drop(store);
                drop(guard);
            }
        )+
    };
}
