//! Running a list of targets: at most `max_parallel` at once, reports handed over as they
//! finish, memory bounded by what is in flight, and a clean stop.
//!
//! The work is split into shards, one per core: the calling thread is one, every other shard
//! has a thread of its own with a single-threaded runtime. Each shard takes targets from one
//! shared queue as it has room, checks them and prepares the reports where they were made; the
//! calling thread hands everything finished to the caller, and writing comes first there. A
//! check that finishes at its first poll (a refusal over loopback) never becomes a task.
//!
//! Measured on 2 cores over 10,000 closed loopback ports: one multi-threaded runtime for
//! everything spent ~40 % more CPU in the kernel alone than a single thread did (wake-ups
//! between its workers, its injection queue and the thread that writes), and the writing
//! thread was what the run waited for; shards brought the run from 106 ms to 83 ms.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::check::{RunContext, TargetReport, check_target};
use crate::target::Target;

/// A target still being checked when the run stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InFlight {
    /// Position in the input (0-based).
    pub index: usize,
    pub target: String,
    #[serde(serialize_with = "crate::millis::serialize", rename = "waited_ms")]
    pub waited: Duration,
}

/// How a run ended (the reports themselves went to the caller one by one).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RunEnd {
    /// Targets started (and so taken from the input).
    pub started: usize,
    /// Targets whose report was handed over.
    pub finished: usize,
    /// True when `stop` completed before every target was checked.
    pub interrupted: bool,
    /// Targets cut short by the stop, in input order.
    pub in_flight: Vec<InFlight>,
    /// True when the input still had targets that were never started.
    pub not_started: bool,
}

/// Checks targets taken lazily from `targets`, at most `max_parallel` at a time, and hands
/// each report to `on_report` with its input position as soon as it is ready (and whether
/// another finished report follows at once: flush when it does not), so memory is
/// bounded by the targets in flight, not by the length of the list. The input is read on a
/// thread of its own (it may be a pipe that blocks), so a report is handed over at once even
/// while the next target has not been written yet. When `stop` completes, nothing new starts,
/// the targets in flight are abandoned and listed in the result, and every report already
/// finished is still handed over. An error from `on_report` (e.g. a closed pipe) ends the run
/// at once and is returned.
pub async fn run_targets<I, F, E>(
    ctx: Arc<RunContext>,
    targets: I,
    on_report: F,
    stop: impl std::future::Future<Output = ()>,
) -> Result<RunEnd, E>
where
    I: IntoIterator<Item = Target> + Send + 'static,
    I::IntoIter: Send,
    F: FnMut(usize, TargetReport, bool) -> Result<(), E>,
{
    run_targets_prepared(ctx, targets, |_, report| report, on_report, stop).await
}

/// [`run_targets`], with `prepare` turning each report into what `on_report` takes, on the
/// thread that checked the target: rendering there (into bytes, say) spreads that work over
/// every core, and the report is freed by the thread that allocated it.
pub async fn run_targets_prepared<I, P, R, F, E>(
    ctx: Arc<RunContext>,
    targets: I,
    prepare: P,
    mut on_report: F,
    stop: impl std::future::Future<Output = ()>,
) -> Result<RunEnd, E>
where
    I: IntoIterator<Item = Target> + Send + 'static,
    I::IntoIter: Send,
    P: Fn(usize, TargetReport) -> R + Send + Sync + 'static,
    R: Send + 'static,
    F: FnMut(usize, R, bool) -> Result<(), E>,
{
    let max_parallel = ctx.opts.max_parallel.max(1);
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let targets = targets.into_iter();
    // A known handful (a single target, say) needs no thread beyond this one.
    let at_most = targets.size_hint().1.unwrap_or(usize::MAX).max(1);
    let shards = cores.min(MAX_SHARDS).min(max_parallel).min(at_most);
    let shared = Arc::new(Shared::<R>::new(shards, max_parallel));
    let reader = Arc::clone(&shared);
    std::thread::spawn(move || reader.feed.fill(targets));
    // However the run ends (an error from on_report included), the reader and the other
    // shards stop.
    let _abandon = AbandonOnDrop(&shared);
    let prepare = Arc::new(prepare);
    for id in 1..shards {
        let limit = shard_limit(max_parallel, shards, id);
        shared.running.fetch_add(1, Ordering::SeqCst);
        let spawned = std::thread::Builder::new().name(format!("netdiag-shard-{id}")).spawn({
            let (shared, ctx, prepare) = (Arc::clone(&shared), Arc::clone(&ctx), Arc::clone(&prepare));
            move || run_other_shard(&shared, id, limit, &ctx, &prepare)
        });
        if spawned.is_err() {
            // The other shards take this one's share of the targets.
            shared.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    let mut shard = Shard::new(0, shard_limit(max_parallel, shards, 0));
    let mut end = RunEnd::default();
    let mut finished: Vec<(usize, R)> = Vec::new();
    tokio::pin!(stop);
    loop {
        // Output first: this thread writes for every shard, so it checks targets of its own
        // only in small batches while the others have reports waiting, and it never becomes
        // the one thing the run waits for.
        let others = shared.take_done();
        let writing = !others.is_empty();
        let budget = if writing { BUDGET_WHILE_WRITING } else { shard.limit };
        let more = shard.start_what_fits(&shared, &ctx, &prepare, &mut finished, budget);
        hand_over(&mut finished, others, &mut on_report, &mut end)?;
        if shard.is_done() && shared.running.load(Ordering::SeqCst) == 0 && shared.done_len() == 0 {
            break;
        }
        tokio::select! {
            () = tokio::task::yield_now(), if more || writing => {}
            () = shared.feed.wait(0), if shard.wants_targets() => {}
            Some(joined) = shard.tasks.join_next(), if !shard.tasks.is_empty() => {
                shard.collect(joined, &mut finished);
                hand_over(&mut finished, Vec::new(), &mut on_report, &mut end)?;
            }
            () = shared.done_ready.notified() => {}
            () = &mut stop => {
                end.interrupted = true;
                shared.abandon();
                let mut cut = shard.abort(&shared, &mut finished);
                // The other shards stop too; what they finished before is still handed over.
                while shared.running.load(Ordering::SeqCst) > 0 {
                    shared.done_ready.notified().await;
                    let others = shared.take_done();
                    hand_over(&mut finished, others, &mut on_report, &mut end)?;
                }
                let others = shared.take_done();
                hand_over(&mut finished, others, &mut on_report, &mut end)?;
                cut.append(&mut shared.lock_cut());
                cut.sort_by_key(|f| f.index);
                end.in_flight = cut;
                end.not_started = shared.feed.may_hold_more() || shared.unstarted.load(Ordering::SeqCst) > 0;
                break;
            }
        }
    }
    end.started = shared.started.load(Ordering::SeqCst);
    Ok(end)
}

/// Hands `own` (finished on this thread) and then `others` to the caller, each saying
/// whether another follows in this batch.
fn hand_over<R, E>(
    own: &mut Vec<(usize, R)>,
    others: Vec<(usize, R)>,
    on_report: &mut impl FnMut(usize, R, bool) -> Result<(), E>,
    end: &mut RunEnd,
) -> Result<(), E> {
    let total = own.len() + others.len();
    for (n, (index, report)) in own.drain(..).chain(others).enumerate() {
        end.finished += 1;
        on_report(index, report, n + 1 < total)?;
    }
    Ok(())
}

/// Beyond this many shards the one thread that writes every report is what the run waits
/// for (writing a JSON record costs about a third of checking a target over loopback).
const MAX_SHARDS: usize = 8;

/// How many targets the calling thread checks between two rounds of writing while the other
/// shards have reports waiting: small, so that writing never falls behind.
const BUDGET_WHILE_WRITING: usize = 16;

/// How many of the `max_parallel` targets in flight shard `id` of `shards` may hold.
fn shard_limit(max_parallel: usize, shards: usize, id: usize) -> usize {
    max_parallel / shards + usize::from(id < max_parallel % shards)
}

/// A shard on a thread of its own: checks targets until the input is exhausted or the run is
/// abandoned, and leaves its finished reports in the shared queue.
fn run_other_shard<R, P>(shared: &Shared<R>, id: usize, limit: usize, ctx: &Arc<RunContext>, prepare: &Arc<P>)
where
    P: Fn(usize, TargetReport) -> R + Send + Sync + 'static,
    R: Send + 'static,
{
    // Counts this shard out however it ends, so the calling thread never waits for it.
    struct Exit<'a, R>(&'a Shared<R>);
    impl<R> Drop for Exit<'_, R> {
        fn drop(&mut self) {
            self.0.running.fetch_sub(1, Ordering::SeqCst);
            self.0.done_ready.notify_one();
        }
    }
    let _exit = Exit(shared);
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return;
    };
    runtime.block_on(async {
        let mut shard = Shard::new(id, limit);
        let mut finished = Vec::new();
        loop {
            // Reports the calling thread has not written yet bound how far this shard runs
            // ahead: a slow reader of the output must not turn into memory.
            let room = shared.done_len() < shared.done_cap;
            let more = room && shard.start_what_fits(shared, ctx, prepare, &mut finished, shard.limit);
            if !finished.is_empty() {
                shared.put_done(&mut finished);
            }
            if shard.is_done() {
                break;
            }
            tokio::select! {
                () = tokio::task::yield_now(), if more => {}
                () = shared.drained[id].notified(), if !room => {}
                () = shared.feed.wait(id), if room && shard.wants_targets() => {}
                Some(joined) = shard.tasks.join_next(), if !shard.tasks.is_empty() => {
                    shard.collect(joined, &mut finished);
                    shared.put_done(&mut finished);
                }
                () = shared.abandoned(id) => {
                    let mut cut = shard.abort(shared, &mut finished);
                    shared.put_done(&mut finished);
                    shared.lock_cut().append(&mut cut);
                    break;
                }
            }
        }
    });
}

/// One shard's targets in flight.
struct Shard<R> {
    id: usize,
    limit: usize,
    tasks: JoinSet<(usize, R)>,
    in_flight: HashMap<usize, (Arc<Target>, Instant)>,
    pending: VecDeque<(usize, Target)>,
    input_open: bool,
}

impl<R: Send + 'static> Shard<R> {
    fn new(id: usize, limit: usize) -> Self {
        Shard {
            id,
            limit: limit.max(1),
            tasks: JoinSet::new(),
            in_flight: HashMap::new(),
            pending: VecDeque::new(),
            input_open: true,
        }
    }

    fn wants_targets(&self) -> bool {
        self.input_open && self.pending.is_empty() && self.tasks.len() < self.limit
    }

    fn is_done(&self) -> bool {
        !self.input_open && self.pending.is_empty() && self.tasks.is_empty()
    }

    /// Starts as many queued targets as this shard has room for. Each check is polled once
    /// here first: one that finishes at once (a refusal over loopback, a bad address) goes
    /// straight to `finished` without becoming a task, and only one that has to wait is
    /// spawned, already under way.
    fn start_what_fits<P>(
        &mut self,
        shared: &Shared<R>,
        ctx: &Arc<RunContext>,
        prepare: &Arc<P>,
        finished: &mut Vec<(usize, R)>,
        mut budget: usize,
    ) -> bool
    where
        P: Fn(usize, TargetReport) -> R + Send + Sync + 'static,
    {
        // At most `budget` starts per call, so what finished at once is handed over in batches
        // and the stop, the other shards and the spawned checks get their turn in between.
        while self.tasks.len() < self.limit {
            if budget == 0 {
                return true;
            }
            budget -= 1;
            if self.pending.is_empty() && self.input_open {
                let room = self.limit - self.tasks.len();
                self.input_open = shared.feed.take(room, &mut self.pending);
            }
            let Some((index, target)) = self.pending.pop_front() else { break };
            shared.started.fetch_add(1, Ordering::SeqCst);
            let since = Instant::now();
            let (ctx, prepare) = (Arc::clone(ctx), Arc::clone(prepare));
            let target = Arc::new(target);
            let checked = Arc::clone(&target);
            // Unconstrained by tokio's cooperative budget: every check polled here in a row would
            // otherwise draw on the one budget of this loop, and after a hundred or so a check
            // that could finish at once would be told to wait and become a task. A check is a
            // bounded sequence of steps, so it cannot starve the runtime.
            let mut check = Box::pin(tokio::task::unconstrained(async move {
                (index, prepare(index, check_target(&checked, &ctx).await))
            }));
            // A waker that does nothing is enough for this first poll: whatever the check then
            // waits on keeps its readiness, and the task's first poll registers the real waker.
            match check.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop())) {
                std::task::Poll::Ready(done) => finished.push(done),
                std::task::Poll::Pending => {
                    self.in_flight.insert(index, (target, since));
                    self.tasks.spawn(check);
                }
            }
        }
        false
    }

    /// Moves `joined` and every other report already finished into `finished`.
    fn collect(
        &mut self,
        joined: Result<(usize, R), tokio::task::JoinError>,
        finished: &mut Vec<(usize, R)>,
    ) {
        let mut next = Some(joined);
        while let Some(joined) = next.take() {
            match joined {
                Ok((index, report)) => {
                    self.in_flight.remove(&index);
                    finished.push((index, report));
                }
                // A check task has no reason to panic; keep the others and say so.
                Err(e) => tracing::error!(shard = self.id, "check task failed: {e}"),
            }
            next = self.tasks.try_join_next();
        }
    }

    /// Moves the reports already finished into `finished`, abandons the targets still in
    /// flight and lists them; targets taken but not started are counted as not started.
    fn abort(&mut self, shared: &Shared<R>, finished: &mut Vec<(usize, R)>) -> Vec<InFlight> {
        if let Some(joined) = self.tasks.try_join_next() {
            self.collect(joined, finished);
        }
        self.tasks.abort_all();
        shared.unstarted.fetch_add(self.pending.len(), Ordering::SeqCst);
        self.pending.clear();
        self.in_flight
            .drain()
            .map(|(index, (target, since))| InFlight {
                index,
                target: target.display(),
                waited: since.elapsed(),
            })
            .collect()
    }
}

/// What the shards and the reader share.
struct Shared<R> {
    feed: TargetFeed,
    /// Reports finished by the other shards, not yet handed over.
    done: Mutex<Vec<(usize, R)>>,
    done_ready: Notify,
    /// A shard starts nothing new while this many reports wait to be handed over.
    done_cap: usize,
    /// One per shard: the calling thread took the waiting reports.
    drained: Vec<Notify>,
    /// Other shards still running.
    running: AtomicUsize,
    started: AtomicUsize,
    /// Targets a shard had taken from the queue but not started when the run stopped.
    unstarted: AtomicUsize,
    /// One per shard: the run is abandoned.
    abandon: Vec<Notify>,
    /// The other shards' targets cut short by a stop.
    cut: Mutex<Vec<InFlight>>,
}

impl<R> Shared<R> {
    fn new(shards: usize, max_parallel: usize) -> Self {
        Shared {
            feed: TargetFeed::new(shards, max_parallel),
            done: Mutex::new(Vec::new()),
            done_ready: Notify::new(),
            done_cap: 2 * max_parallel,
            drained: (0..shards).map(|_| Notify::new()).collect(),
            running: AtomicUsize::new(0),
            started: AtomicUsize::new(0),
            unstarted: AtomicUsize::new(0),
            abandon: (0..shards).map(|_| Notify::new()).collect(),
            cut: Mutex::new(Vec::new()),
        }
    }

    /// Takes every report the other shards finished, and lets a shard held back by them go on.
    fn take_done(&self) -> Vec<(usize, R)> {
        let taken = std::mem::take(&mut *self.done.lock().unwrap_or_else(PoisonError::into_inner));
        if !taken.is_empty() {
            for drained in &self.drained {
                drained.notify_one();
            }
        }
        taken
    }

    fn done_len(&self) -> usize {
        self.done.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    fn put_done(&self, finished: &mut Vec<(usize, R)>) {
        let mut done = self.done.lock().unwrap_or_else(PoisonError::into_inner);
        let first = done.is_empty();
        done.append(finished);
        drop(done);
        // The calling thread drains everything it finds, so only the first batch wakes it.
        if first {
            self.done_ready.notify_one();
        }
    }

    fn lock_cut(&self) -> MutexGuard<'_, Vec<InFlight>> {
        self.cut.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn abandoned(&self, shard: usize) {
        self.abandon[shard].notified().await;
    }

    fn abandon(&self) {
        self.feed.abandon();
        for notify in &self.abandon {
            // A stored permit: a shard that is busy sees it at its next wait.
            notify.notify_one();
        }
    }
}

struct AbandonOnDrop<'a, R>(&'a Shared<R>);

impl<R> Drop for AbandonOnDrop<'_, R> {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

/// The targets read so far and not yet taken by a shard, filled by the reader thread, each
/// with its input position.
///
/// Hand-made rather than a channel because a channel wakes its blocked sender for every item
/// taken: here a shard takes everything it has room for at once and the reader is woken once
/// per batch, while a target that arrives alone (a slow pipe) is still handed over at once.
struct TargetFeed {
    queue: Mutex<FeedQueue>,
    room: Condvar,
    /// One per shard.
    ready: Vec<Notify>,
    capacity: usize,
}

#[derive(Default)]
struct FeedQueue {
    targets: VecDeque<(usize, Target)>,
    read: usize,
    /// The reader has read its last target, or stopped.
    finished: bool,
    /// The reader stopped because the run was abandoned, holding a target it had read.
    cut_short: bool,
    /// The run no longer takes targets: the reader should stop.
    abandoned: bool,
}

impl TargetFeed {
    fn new(shards: usize, capacity: usize) -> Self {
        TargetFeed {
            queue: Mutex::new(FeedQueue::default()),
            room: Condvar::new(),
            ready: (0..shards.max(1)).map(|_| Notify::new()).collect(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FeedQueue> {
        // The queue stays consistent whatever panicked while holding it.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake_shards(&self) {
        for ready in &self.ready {
            ready.notify_one();
        }
    }

    /// Runs on the reader thread until the input ends or the run stops taking targets.
    fn fill<I: IntoIterator<Item = Target>>(&self, targets: I) {
        // Marks the end even if the input's iterator panics, so no shard waits forever.
        struct Finish<'a>(&'a TargetFeed);
        impl Drop for Finish<'_> {
            fn drop(&mut self) {
                self.0.lock().finished = true;
                self.0.wake_shards();
            }
        }
        let _finish = Finish(self);
        for target in targets {
            let mut queue = self.lock();
            while queue.targets.len() >= self.capacity && !queue.abandoned {
                queue = self.room.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            if queue.abandoned {
                queue.cut_short = true;
                return;
            }
            let index = queue.read;
            queue.read += 1;
            queue.targets.push_back((index, target));
            let first = queue.targets.len() == 1;
            drop(queue);
            // Shards only wait on an empty queue, so only the first target needs to wake them.
            if first {
                self.wake_shards();
            }
        }
    }

    /// Waits until a target is queued or the input has ended.
    async fn wait(&self, shard: usize) {
        loop {
            {
                let queue = self.lock();
                if !queue.targets.is_empty() || queue.finished {
                    return;
                }
            }
            self.ready[shard].notified().await;
        }
    }

    /// Moves up to `room` queued targets into `pending`; false once the input is exhausted.
    fn take(&self, room: usize, pending: &mut VecDeque<(usize, Target)>) -> bool {
        let mut queue = self.lock();
        let was_full = queue.targets.len() >= self.capacity;
        let n = room.min(queue.targets.len());
        pending.extend(queue.targets.drain(..n));
        let open = !queue.finished || !queue.targets.is_empty();
        drop(queue);
        if was_full && n > 0 {
            self.room.notify_one();
        }
        open
    }

    /// True unless the reader has read its last target and every one was taken.
    fn may_hold_more(&self) -> bool {
        let queue = self.lock();
        !queue.finished || queue.cut_short || !queue.targets.is_empty()
    }

    /// Tells the reader to stop reading.
    fn abandon(&self) {
        self.lock().abandoned = true;
        self.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::shard_limit;

    #[test]
    fn the_shard_limits_add_up_to_max_parallel_and_none_is_zero() {
        for max_parallel in 1..40 {
            for shards in 1..=max_parallel.min(8) {
                let limits: Vec<usize> =
                    (0..shards).map(|id| shard_limit(max_parallel, shards, id)).collect();
                assert_eq!(limits.iter().sum::<usize>(), max_parallel, "{max_parallel} over {shards}");
                assert!(limits.iter().all(|&l| l >= 1), "{limits:?}");
            }
        }
    }
}
