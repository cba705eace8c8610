#include "cpu_slice.hpp"

#include "pg.hpp"

// After PostgreSQL's headers, which must be first.
#include <cstdint>
#include <cstring>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace psycache {
namespace {

// struct sched_attr of sched_setattr(2); glibc 2.36 has no declaration of it.
struct SchedAttr {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;  // for SCHED_OTHER: the requested slice, in nanoseconds
  uint64_t sched_deadline;
  uint64_t sched_period;
};

// The shortest slice the kernel accepts (it clamps requests to 0.1 ms ... 100 ms).
constexpr uint64_t kSliceNanoseconds = 100'000;

}  // namespace

void RequestShortCpuSlice() {
#if defined(__linux__) && defined(SYS_sched_setattr)
  SchedAttr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = getpriority(PRIO_PROCESS, 0);  // keep the nice value the server has
  attr.sched_runtime = kSliceNanoseconds;
  if (syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    elog(DEBUG1, "psycache cleanup keeps the default CPU slice: sched_setattr: %m");
  }
#endif
}

}  // namespace psycache
