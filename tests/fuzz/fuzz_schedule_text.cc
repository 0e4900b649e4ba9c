// libFuzzer target: the schedule text form (sched/schedule_text.h), then the validator and the
// text writer on whatever parses, as `paci schedule --input x.txt` would.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sched/schedule_text.h"
#include "sched/schedule_validator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  paci::Result<paci::ir::Schedule> schedule = paci::ParseScheduleText(text, "fuzz.txt");
  if (schedule.ok() && paci::ValidateSchedule(*schedule).ok()) {
    (void)paci::FormatScheduleText(*schedule, {.compact = true});
  }
  return 0;
}
