// Intentionally tiny: anchors the frontend interface in the tandem_io library.
#include "frontend/block_target.h"
