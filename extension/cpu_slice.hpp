// The CPU time slice of a cleanup pass's process.
#pragma once

namespace psycache {

// Asks the scheduler for the shortest time slice it grants (Linux 6.12 and later, EEVDF; older
// kernels and other systems ignore it). A pass sleeps between its batches, so each batch wakes
// up with credit and, at the default slice of a few milliseconds, runs that long before a query
// that woke meanwhile on the same CPU gets it back: the queries' tail latency paid for every
// batch. With the shortest slice a waking query takes the CPU back within a tenth of a
// millisecond, and the pass still gets the CPU time the queries leave. Best effort: a refusal is
// logged at DEBUG1 and the pass goes on.
void RequestShortCpuSlice();

}  // namespace psycache
