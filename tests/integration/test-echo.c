/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/gst.h>

#include "aic-audio.h"
#include "aic-echo-room.h"
#include "aic-tts.h"
#include "aic-test-util.h"

/* Echo cancellation with real pipelines in a room without loudspeaker or
 * microphone (AicEchoRoom): the reply, fed back from the speaker into the
 * microphone, should not reach the server's VAD as the user speaking.
 * This checks a later reply of a call, after playback had run dry: before
 * playback started afresh for it, webrtcdsp let its echo through
 * untouched. bench-echo measures the same room in more cases. */

static GBytes *speech;

typedef struct
{
  double level;
  guint  turns;
} Heard;

static gboolean
played_out (gpointer data)
{
  return !aic_audio_playback_is_playing (data);
}

/* A reply played to its end, a second of quiet, then a second reply:
 * what the microphone delivers of the second one. */
static Heard
second_reply (gboolean cancel)
{
  g_autoptr(GError) error = NULL;
  guint speech_ms = g_bytes_get_size (speech) / 48;
  AicEchoRoom *room = aic_echo_room_new (cancel, TRUE, &error);
  AicAudioPlayback *playback;
  Heard heard;

  g_assert_no_error (error);
  playback = aic_echo_room_get_playback (room);
  /* scripts/setup installs webrtcdsp (gstreamer1.0-plugins-bad). */
  g_assert_cmpint (aic_audio_capture_get_echo_cancel (aic_echo_room_get_capture (room)), ==, cancel);

  aic_echo_room_wait (500);
  aic_echo_room_play (room, speech);
  aic_echo_room_wait (speech_ms);
  aic_test_wait_for (played_out, playback, 3000);
  aic_echo_room_wait (1000);

  aic_echo_room_listen (room, 2000);
  aic_echo_room_play (room, speech);
  aic_echo_room_wait (speech_ms + 200);
  heard.level = aic_echo_room_get_level (room);
  heard.turns = aic_echo_room_get_turns (room);
  g_test_message ("%s: echo %.1f dBFS, %u turns", cancel ? "webrtcdsp" : "none", heard.level, heard.turns);

  aic_echo_room_free (room);
  return heard;
}

static void
test_second_reply (void)
{
  Heard without, with;

  /* The room is a fair test: without cancellation the reply interrupts
   * itself. */
  without = second_reply (FALSE);
  g_assert_cmpuint (without.turns, >, 0);
  g_assert_cmpfloat (without.level, >, -35.0);

  /* Cancelled: before playback started afresh after running dry, the
   * echo was as loud as without cancellation. Runs here give 14 to 26 dB
   * less; the residual still starts turns now and then (bench-echo), which
   * is why this asks for less than it gets and does not count turns. */
  with = second_reply (TRUE);
  g_assert_cmpfloat (with.level, <, without.level - 8.0);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  g_assert_true (aic_audio_init (&error));
  speech = aic_tts_espeak ("Tomorrow clouds will come in from the sea, and rain is likely by the evening.",
                           NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/echo/second-reply", test_second_reply);
  status = g_test_run ();
  g_bytes_unref (speech);
  return status;
}
