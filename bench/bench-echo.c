/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Does echo cancellation keep a reply from interrupting itself?
 *
 *   bench-echo
 *
 * No loudspeaker or microphone is needed: AicEchoRoom (tests/common)
 * carries what AicAudioPlayback renders, at half level and over a quiet
 * noise floor, into AicAudioCapture's source every 10 ms, as a room
 * carries a reply from the speakers into a microphone. The microphone runs
 * from the start of the call, as in the app; the reply comes after a
 * second of quiet: the first of the call, one after an earlier reply had
 * played to its end, or one after the user cut an earlier reply short.
 *
 * The table gives the echo's level in the captured frames from 2 s into
 * the reply (when a canceller has had time to learn the room) and how many
 * turns the server's VAD (threshold 0.5, i.e. -35 dBFS) would have started
 * during it: how often the reply would have interrupted itself. The
 * reference is the same room without cancellation.
 *
 * A second table checks that cancelling the echo does not also cancel
 * the user: someone speaks over a reply, 3 s into it, and the VAD must
 * start a turn for them (barge-in), soon after they begin.
 */

#include "config.h"

#include <math.h>
#include <stdio.h>

#include "aic-audio.h"
#include "aic-echo-room.h"
#include "aic-tts.h"
#include "aic-voice-call.h"

typedef enum
{
  FIRST_REPLY,
  SECOND_REPLY,
  AFTER_BARGE_IN,
} Moment;

static const char *moment_names[] = {
  "first reply",
  "second reply",
  "reply after a barge-in",
};

static void
run_room (GBytes   *speech,
          gboolean  cancel,
          gboolean  shared,
          guint     hold_ms,
          Moment    moment)
{
  g_autoptr(GError) error = NULL;
  AicEchoRoom *room = aic_echo_room_new (cancel, shared, &error);
  AicAudioPlayback *playback;

  if (room == NULL)
    g_error ("bench-echo: %s", error->message);
  playback = aic_echo_room_get_playback (room);

  aic_echo_room_wait (1000);
  if (moment != FIRST_REPLY)
    {
      aic_echo_room_play (room, speech);
      aic_echo_room_wait (moment == SECOND_REPLY ? 12000 : 4000);
      if (moment == AFTER_BARGE_IN)
        aic_audio_playback_flush (playback);
      aic_echo_room_wait (1000);
    }
  /* As AicVoiceCall starts a reply: the microphone held, then quieter
   * frames sent as silence while the canceller settles. */
  if (hold_ms > 0)
    {
      aic_audio_capture_hold (aic_echo_room_get_capture (room), hold_ms);
      aic_audio_capture_quiet_below (aic_echo_room_get_capture (room), AIC_VOICE_CALL_SETTLE_MS,
                                     AIC_VOICE_CALL_SETTLE_DBFS);
    }
  aic_echo_room_listen (room, 2000);
  aic_echo_room_play (room, speech);
  aic_echo_room_wait (6500);

  {
    g_autofree char *warmup = hold_ms ? g_strdup_printf ("%u ms + settle", hold_ms) : g_strdup ("none");

    printf ("| %-22s | %-12s | %-12s | %-15s | %10.1f | %5u |\n", moment_names[moment],
            cancel ? "webrtcdsp" : "none (ref.)", shared ? "shared" : "each its own", warmup,
            aic_echo_room_get_level (room), aic_echo_room_get_turns (room));
  }
  fflush (stdout);
  aic_echo_room_free (room);
}

static void
run_double_talk (GBytes   *speech,
                 GBytes   *user,
                 gboolean  cancel,
                 guint     after_ms)
{
  g_autoptr(GError) error = NULL;
  AicEchoRoom *room = aic_echo_room_new (cancel, TRUE, &error);
  gint64 spoke;
  gint64 heard;
  g_autofree char *after = NULL;

  if (room == NULL)
    g_error ("bench-echo: %s", error->message);
  aic_echo_room_wait (1000);
  if (cancel)
    {
      aic_audio_capture_hold (aic_echo_room_get_capture (room), 300);
      aic_audio_capture_quiet_below (aic_echo_room_get_capture (room), AIC_VOICE_CALL_SETTLE_MS,
                                     AIC_VOICE_CALL_SETTLE_DBFS);
    }
  aic_echo_room_play (room, speech);
  aic_echo_room_wait (after_ms);
  /* From here, only the user could start a turn (the table above). */
  aic_echo_room_listen (room, 0);
  aic_echo_room_speak (room, user, 0);
  spoke = g_get_monotonic_time ();
  aic_echo_room_wait (4000);
  heard = aic_echo_room_get_first_turn (room);
  after = heard ? g_strdup_printf ("%" G_GINT64_FORMAT, (heard - spoke) / 1000) : g_strdup ("never");

  printf ("| %-12s | %8u | %5u | %17s |\n", cancel ? "webrtcdsp" : "none (ref.)", after_ms,
          aic_echo_room_get_turns (room), after);
  fflush (stdout);
  aic_echo_room_free (room);
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) speech = NULL;
  g_autoptr(GBytes) user = NULL;

  if (!aic_audio_init (&error))
    g_error ("bench-echo: %s", error->message);
  speech = aic_tts_espeak ("The weather today is sunny and warm, with a light breeze from the west. "
                           "Tomorrow clouds will come in from the sea, and rain is likely by the evening. "
                           "The weekend looks dry again, with temperatures around twenty degrees.", NULL, &error);
  if (speech == NULL)
    g_error ("bench-echo: %s", error->message);

  printf ("The reply's echo in the microphone (played speech, %.1f s, fed back at half level)\n\n",
          g_bytes_get_size (speech) / 2.0 / AIC_AUDIO_RATE);
  printf ("| reply                  | cancellation | base time    | warm-up         | echo dBFS  | turns |\n");
  printf ("|------------------------|--------------|--------------|-----------------|-----------:|------:|\n");
  run_room (speech, FALSE, TRUE, 0, FIRST_REPLY);
  run_room (speech, TRUE, FALSE, 0, FIRST_REPLY);
  run_room (speech, TRUE, TRUE, 0, FIRST_REPLY);
  run_room (speech, TRUE, TRUE, 300, FIRST_REPLY);
  run_room (speech, FALSE, TRUE, 0, SECOND_REPLY);
  run_room (speech, TRUE, TRUE, 0, SECOND_REPLY);
  run_room (speech, TRUE, TRUE, 300, SECOND_REPLY);
  run_room (speech, TRUE, TRUE, 0, AFTER_BARGE_IN);
  run_room (speech, TRUE, TRUE, 300, AFTER_BARGE_IN);

  user = aic_tts_espeak ("Wait, stop please. I have a question about the rain.", NULL, &error);
  if (user == NULL)
    g_error ("bench-echo: %s", error->message);
  {
    gsize size;
    const gint16 *samples = g_bytes_get_data (user, &size);
    double energy = 0;
    guint voiced = 0;

    /* The level of its voiced 20 ms frames, as a VAD sees them. */
    for (gsize frame = 0; frame + 480 <= size / 2; frame += 480)
      {
        double e = 0;

        for (guint i = 0; i < 480; i++)
          e += (double) samples[frame + i] * samples[frame + i];
        if (e / 480 > 32768.0 * 32768.0 * 1e-5)
          {
            energy += e / 480;
            voiced++;
          }
      }
    printf ("\nThe user speaking over a reply (%.1f s of speech; its voiced frames at %.1f dBFS)\n\n",
            g_bytes_get_size (user) / 2.0 / AIC_AUDIO_RATE,
            10.0 * log10 (energy / MAX (voiced, 1) / (32768.0 * 32768.0)));
  }
  printf ("| cancellation | after ms | turns | heard after (ms)  |\n");
  printf ("|--------------|---------:|------:|------------------:|\n");
  run_double_talk (speech, user, FALSE, 1000);
  run_double_talk (speech, user, TRUE, 1000);
  run_double_talk (speech, user, FALSE, 3000);
  run_double_talk (speech, user, TRUE, 3000);
  return 0;
}
