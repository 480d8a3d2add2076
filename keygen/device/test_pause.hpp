// A test-only stop at a named point of enftun-keygen, so that a test can
// kill it exactly there (a lost answer, a crash between two renames): with
// ENFTUN_KEYGEN_TEST_PAUSE=POINT in the environment, reaching POINT prints
// "enftun-keygen: test pause at POINT" on stderr and stops the process
// (SIGSTOP) until it is continued or killed. Without the variable nothing
// happens. Points: "answer" (a checked reply in hand, nothing written),
// "cert-staged" (KEY.pending and CERT.pending written, nothing renamed),
// "key-renamed" (KEY replaced, CERT not yet: identity_repair.hpp).
#pragma once

namespace enftun::keygen {

void test_pause(const char* point);

} // namespace enftun::keygen
