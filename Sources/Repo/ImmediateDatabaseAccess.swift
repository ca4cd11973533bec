import GRDB

// Reads on the calling thread.
//
// GRDB's `async` read hops from the caller to a queue that waits for a free
// reader, then to that reader's queue, then back: three thread switches,
// which for the small reads a request makes cost more than the SQL (on two
// cores getRecord used 30% less server CPU without them). `readNow` runs the
// read transaction inline instead, blocking the caller only while SQLite
// works.
//
// The rule that keeps this free of deadlocks: nothing holds a pool reader
// across a suspension. GRDB's `async` read does (it gives the reader back
// only when the awaiting task resumes), so the project does not use it: a
// cooperative thread blocked here waiting for a reader could be the very
// thread that task needs. Reads that wait on a client (a CAR export) use a
// snapshot connection of their own, outside the pool.
//
// Writes keep GRDB's `async` write: inline, a write waits for the single
// writer and blocks its cooperative thread meanwhile (measured: createRecord
// slower, p99 three times higher).

extension DatabaseReader {
    /// Runs a read transaction on the calling thread and returns its result.
    /// For short reads; see the note at the top of this file.
    public func readNow<T>(_ body: (Database) throws -> T) throws -> T {
        try read(body)
    }
}
