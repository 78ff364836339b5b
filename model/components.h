/*  components.h — (internal) what model.c needs of components.c. */
#ifndef MT_COMPONENTS_H_INCLUDED
#define MT_COMPONENTS_H_INCLUDED

#include "mt_model.h"

/*  Sorts packed components by name and drops duplicates, keeping the last
    given (as maps do). Returns the count kept. */
uint32_t mt__components_normalise(mt_component_t *c, uint32_t n);

#endif
