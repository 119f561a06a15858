#pragma once
// PLACEHOLDER: to be written.
