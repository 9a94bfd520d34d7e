/* @LIBRARY@.h - @NAME@: a TinyStudio impulse for Arduino; the API is in tinystudio.h. */
#ifndef TINYSTUDIO_ARDUINO_LIBRARY_H
#define TINYSTUDIO_ARDUINO_LIBRARY_H

#include "tinystudio.h"

#endif
