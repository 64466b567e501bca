/* INVARIANT(cond): an always-on assert of Quire's own invariants (never of input): it aborts
 * with file:line and the condition (DESIGN.md "Code practices" 3). */
#ifndef QUIRE_PROTOCOL_INVARIANT_H
#define QUIRE_PROTOCOL_INVARIANT_H

#include <stdio.h>
#include <stdlib.h>

#define INVARIANT(cond)                                                            \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                     \
    }                                                                              \
  } while (0)

#endif
