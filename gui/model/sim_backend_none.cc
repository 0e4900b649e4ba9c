// Built when paci_sim is absent: the explorer then says that no simulator is available.
#include "gui/model/sim_backend.h"

namespace paci::gui {
std::shared_ptr<const SimBackend> MakePaciSimBackend() { return nullptr; }
}  // namespace paci::gui
