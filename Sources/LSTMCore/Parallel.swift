#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Splitting independent rows (batch samples) over threads: the caller's and the helpers of
/// `WorkerPool`, started on first use.
public enum Parallel {
    /// Stops and joins the helper threads, if any were started (the library is being unloaded);
    /// later regions run on their caller's thread alone.
    public static func stopHelpers() { WorkerPool.started?.shutdown() }

    /// Threads a region may use: LSTM_NUM_THREADS if set (1 turns threading off), else the
    /// processors online, at most 8.
    static let maxThreads: Int = {
        if let v = getenv("LSTM_NUM_THREADS"), let n = Int(String(cString: v)), n >= 1 { return min(n, 64) }
        return max(1, min(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 8))
    }()

    /// Below this many multiply-adds a region runs on the calling thread: starting and joining a
    /// thread costs tens of microseconds.
    static let minWork = 2_000_000

    /// Rows per thread at least (the product kernel works on blocks of 4 rows).
    static let minRows = 4

    /// Runs body(r0, r1) over ranges covering 0..<rows, spread over threads (the caller's among
    /// them) when `work` multiply-adds make that pay; else body(0, rows). One range per thread,
    /// in multiples of `grain` rows (but the last), handed out as threads ask for them: a helper
    /// that wakes late finds its range already taken by the caller instead of holding it up.
    /// (Two or four ranges per thread balanced better but re-read the recurrent weights once per
    /// range and step: the sine job took 0.85 s that way, 0.78 s with one range per thread.)
    static func forRows(_ rows: Int, work: Int, grain: Int = minRows, _ body: @escaping (Int, Int) -> Void) {
        let threads = min(maxThreads, rows / grain, max(1, work / minWork))
        if threads <= 1 { body(0, rows); return }
        let per = max(grain, (rows + threads - 1) / threads + grain - 1) / grain * grain
        let ranges = (rows + per - 1) / per
        let next = Counter()
        let worker = {
            while true {
                let i = next.take()
                if i >= ranges { return }
                body(i * per, min(rows, (i + 1) * per))
            }
        }
        // Another caller holding the helpers (or a forked child): this thread does it all.
        if !(WorkerPool.shared?.run(worker) ?? false) { worker() }
    }

    /// The next range's index, shared by a region's threads.
    private final class Counter: @unchecked Sendable {
        private let value = Atomic<Int>(0)
        func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
    }

}

/// maxThreads - 1 helper threads, started on first use and parked between regions. Starting a
/// thread per region cost ~30 µs and the new thread often began on the caller's core; a parked
/// thread can take as long to wake (an idle virtual CPU), so the caller never waits for a helper
/// that has not started: it takes the remaining ranges itself and waits only for helpers already
/// working. (Helpers spinning ~0.1 ms for the next region before parking made no measurable
/// difference to W1 and burns a core, so they park at once.) One region at a time: a caller that finds the helpers busy runs its region
/// alone, as does a forked child (it has no helpers).
final class WorkerPool: @unchecked Sendable {
    static let shared: WorkerPool? = Parallel.maxThreads > 1 ? WorkerPool(helpers: Parallel.maxThreads - 1) : nil
    /// The pool once `shared` has made it (reading `shared` would make one).
    nonisolated(unsafe) private(set) static var started: WorkerPool?

    private let owner = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let done = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let pid = getpid()
    private var helpers = 0
    private var threads: [pthread_t] = []
    /// All guarded by `lock`.
    private var generation = 0
    private var working = 0
    private var stopping = false

    private var job: (() -> Void)?

    private init(helpers wanted: Int) {
        pthread_mutex_init(owner, nil); pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil); pthread_cond_init(done, nil)
        for _ in 0..<wanted {
            var tid = pthread_t()
            let me = Unmanaged.passUnretained(self).toOpaque()  // the pool lives as long as the process
            guard pthread_create(&tid, nil, { ctx in
                Unmanaged<WorkerPool>.fromOpaque(ctx!).takeUnretainedValue().helperLoop()
                return nil
            }, me) == 0 else { break }
            threads.append(tid)
            helpers += 1
        }
        WorkerPool.started = self
    }

    private func helperLoop() {
        var seen = 0
        while true {
            pthread_mutex_lock(lock)
            while generation == seen && !stopping { pthread_cond_wait(wake, lock) }
            if stopping { pthread_mutex_unlock(lock); return }
            seen = generation
            guard var work = job else { pthread_mutex_unlock(lock); continue }  // region already over
            working += 1
            pthread_mutex_unlock(lock)
            work()
            work = {}  // the region's closure is released before the caller is told it is over
            pthread_mutex_lock(lock)
            working -= 1
            if working == 0 { pthread_cond_signal(done) }
            pthread_mutex_unlock(lock)
        }
    }

    /// Stops the helpers and waits for them to exit: the library is being unloaded (dlclose) or
    /// the process is exiting, and no helper may be left running code that is about to be
    /// unmapped. A region in progress finishes first (the owner lock waits for it); later
    /// regions run on their caller alone.
    func shutdown() {
        pthread_mutex_lock(owner)
        helpers = 0
        pthread_mutex_unlock(owner)
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(lock)
        for t in threads { pthread_join(t, nil) }
        threads = []
    }

    /// Runs `work` on the caller and on the helpers that start in time, returning when all that
    /// started have finished (`work` must share its ranges out itself); false (nothing run) when
    /// the pool is in use or this is a forked child.
    func run(_ work: @escaping () -> Void) -> Bool {
        guard getpid() == pid, pthread_mutex_trylock(owner) == 0 else { return false }
        defer { pthread_mutex_unlock(owner) }
        guard helpers > 0 else { return false }
        pthread_mutex_lock(lock)
        job = work
        generation += 1
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(lock)
        work()
        pthread_mutex_lock(lock)
        job = nil
        while working > 0 { pthread_cond_wait(done, lock) }
        pthread_mutex_unlock(lock)
        return true
    }
}
