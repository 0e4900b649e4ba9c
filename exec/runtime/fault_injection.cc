#include "exec/runtime/fault_injection.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace paci::exec {
namespace {

class FaultInjectingTransport : public Transport {
 public:
  FaultInjectingTransport(std::unique_ptr<Transport> inner, FaultSpec fault)
      : inner_(std::move(inner)), fault_(fault) {}
  uint32_t stage() const override { return inner_->stage(); }
  uint32_t stages() const override { return inner_->stages(); }
  Status Send(uint32_t to, const MessageKey& key, std::span<const float> data) override {
    return Deliver() ? inner_->Send(to, key, data) : Status::Ok();
  }
  Status Recv(uint32_t from, const MessageKey& key, std::vector<float>* out,
              std::chrono::milliseconds timeout) override {
    return inner_->Recv(from, key, out, timeout);
  }
  void Abort(const std::string& reason) override {
    if (fault_.kind != FaultSpec::Kind::kHang) inner_->Abort(reason);
  }
  Status Flush() override { return inner_->Flush(); }
  void BeginExchange() override { inner_->BeginExchange(); }
  Status EndExchange(std::chrono::milliseconds timeout) override { return inner_->EndExchange(timeout); }
  bool rendezvous() const override { return inner_->rendezvous(); }
  bool moves_device_buffers() const override { return inner_->moves_device_buffers(); }
  Status SendDevice(uint32_t to, const MessageKey& key, const void* data, size_t bytes, void* stream,
                    void* sent) override {
    return Deliver() ? inner_->SendDevice(to, key, data, bytes, stream, sent) : Status::Ok();
  }
  Status RecvDevice(uint32_t from, const MessageKey& key, void* data, size_t bytes, void* stream,
                    void* writable) override {
    return inner_->RecvDevice(from, key, data, bytes, stream, writable);
  }

 private:
  std::unique_ptr<Transport> inner_;
  FaultSpec fault_;
  uint64_t sends_ = 0;

  // Whether this send goes out: the first `after_sends` do; then a crash ends the process and a
  // hang drops this and every later message.
  bool Deliver() {
    if (sends_++ < fault_.after_sends) return true;
    if (fault_.kind == FaultSpec::Kind::kCrash) {
      std::fprintf(stderr, "paci: injected fault: stage %u exits now\n", stage());
      std::fflush(stderr);
      std::_Exit(9);  // no destructors, no MPI_Finalize: as a killed process
    }
    return false;
  }
};

}  // namespace

Result<FaultSpec> ParseFaultSpec(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream ss(text);
  for (std::string p; std::getline(ss, p, ':');) parts.push_back(p);
  const auto bad = [&] {
    return Status::InvalidArgument("--inject-fault: expected crash:STAGE:SENDS or hang:STAGE:SENDS, got '" +
                                   text + "'");
  };
  if (parts.size() != 3) return bad();
  FaultSpec f;
  if (parts[0] == "crash") f.kind = FaultSpec::Kind::kCrash;
  else if (parts[0] == "hang") f.kind = FaultSpec::Kind::kHang;
  else return bad();
  try {
    f.stage = static_cast<uint32_t>(std::stoul(parts[1]));
    f.after_sends = std::stoull(parts[2]);
  } catch (...) {
    return bad();
  }
  return f;
}

std::unique_ptr<Transport> WrapWithFault(std::unique_ptr<Transport> inner, const FaultSpec& fault) {
  if (fault.kind == FaultSpec::Kind::kNone || fault.stage != inner->stage()) return inner;
  return std::make_unique<FaultInjectingTransport>(std::move(inner), fault);
}

}  // namespace paci::exec
