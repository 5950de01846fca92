#pragma once

#include "aic-sqlite.h"
