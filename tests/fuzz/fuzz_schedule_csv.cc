// libFuzzer target: PyTorch's CSV schedule form (sched/schedule_csv.h), then the validator.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sched/schedule_csv.h"
#include "sched/schedule_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::ir::Schedule> schedule = paci::ParseScheduleCsv(text, {}, "fuzz.csv");
  if (schedule.ok()) (void)paci::ValidateSchedule(*schedule);
  return 0;
}
