// Whether this test binary was built with AddressSanitizer: tests that count page faults or limit
// the address space (ASan's shadow memory does both) check less under it, and say why where used.
#pragma once

namespace paci::test_build {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace paci::test_build
