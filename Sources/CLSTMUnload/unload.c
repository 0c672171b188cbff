/* Runs when liblstm.so is unloaded (dlclose) or the process exits: the library's helper
   threads are stopped and joined first, so that none is left parked in code about to be
   unmapped. lstm_internal_unload is defined in Swift (Sources/CLSTM/Unload.swift) and not
   exported. */
#include "lstm_unload.h"

__attribute__((destructor)) static void lstm_on_unload(void) { lstm_internal_unload(); }
