/* Test-only stand-in for bcryptprimitives.dll, which wine 8.0 lacks: Rust's std calls
 * ProcessPrng from it before main. Built by the wine test harness with mingw, placed beside
 * the .exe under test in a temporary directory, and never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* SystemFunction036 (RtlGenRandom) takes a ULONG length: feed larger requests in chunks. */
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
