// Built when paci_sim is absent: the explorer then says that no simulator is available, and
// predicted runs the store keeps compactly say they cannot be re-simulated.
#include "gui/model/sim_backend.h"

namespace paci::gui {
std::shared_ptr<const SimBackend> MakePaciSimBackend() { return nullptr; }
std::function<Status(const ir::Schedule&, const ir::CostModel&, TraceSink&)> MakeStoreReplay() {
  return {};
}
}  // namespace paci::gui
