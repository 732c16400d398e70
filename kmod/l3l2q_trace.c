// SPDX-License-Identifier: GPL-2.0
/*
 * l3l2q_trace.c - the one place the tracepoints of l3l2q_trace.h are
 * instantiated (CREATE_TRACE_POINTS); docs/tracing.md shows how to watch
 * them.
 */
#define CREATE_TRACE_POINTS
#include "l3l2q_trace.h"
