#pragma once
// Global allocations so far in this test binary (allocation_counter.cpp replaces operator new):
// read it before and after a call to assert that the call allocates nothing.

#include <atomic>

extern std::atomic<long> g_allocations;
