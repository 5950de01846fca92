/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The aic-audio module: the table of aic-audio-module.h over the code of
 * aic-audio.c, aic-audio-capture.c and aic-audio-playback.c, which are
 * built into this module with hidden symbols, so that each call below
 * reaches the module's own function and never the same-named one of the
 * program that loaded it (aic-audio-client.c). */
#include "config.h"

#include "aic-audio.h"
#include "aic-audio-module.h"

G_MODULE_EXPORT const AicAudioModule aic_audio_module = {
  .abi = AIC_MODULE_ABI,

  .init = aic_audio_init,
  .clock_now = aic_audio_clock_now,

  .capture_get_type = aic_audio_capture_get_type,
  .capture_new_microphone = aic_audio_capture_new_microphone,
  .capture_new_file = aic_audio_capture_new_file,
  .capture_new_pipeline = aic_audio_capture_new_pipeline,
  .capture_set_echo_cancel = aic_audio_capture_set_echo_cancel,
  .capture_get_echo_cancel = aic_audio_capture_get_echo_cancel,
  .capture_start = aic_audio_capture_start,
  .capture_stop = aic_audio_capture_stop,
  .capture_set_muted = aic_audio_capture_set_muted,
  .capture_get_muted = aic_audio_capture_get_muted,
  .capture_get_level = aic_audio_capture_get_level,
  .capture_get_frames = aic_audio_capture_get_frames,
  .capture_get_frame_time = aic_audio_capture_get_frame_time,
  .capture_set_base_time = aic_audio_capture_set_base_time,
  .capture_hold = aic_audio_capture_hold,
  .capture_quiet_below = aic_audio_capture_quiet_below,

  .playback_get_type = aic_audio_playback_get_type,
  .playback_new_speaker = aic_audio_playback_new_speaker,
  .playback_new_file = aic_audio_playback_new_file,
  .playback_new_pipeline = aic_audio_playback_new_pipeline,
  .playback_set_echo_probe = aic_audio_playback_set_echo_probe,
  .playback_set_prebuffer = aic_audio_playback_set_prebuffer,
  .playback_start = aic_audio_playback_start,
  .playback_push = aic_audio_playback_push,
  .playback_flush = aic_audio_playback_flush,
  .playback_get_played_ms = aic_audio_playback_get_played_ms,
  .playback_get_queued_ms = aic_audio_playback_get_queued_ms,
  .playback_is_playing = aic_audio_playback_is_playing,
  .playback_finish_async = aic_audio_playback_finish_async,
  .playback_finish_finish = aic_audio_playback_finish_finish,
  .playback_stop = aic_audio_playback_stop,
  .playback_set_base_time = aic_audio_playback_set_base_time,
};
