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
 */

#include "config.h"

#include <stdio.h>

#include "aic-audio.h"
#include "aic-echo-room.h"
#include "aic-tts.h"

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
  if (hold_ms > 0)
    aic_audio_capture_hold (aic_echo_room_get_capture (room), hold_ms);
  aic_echo_room_listen (room, 2000);
  aic_echo_room_play (room, speech);
  aic_echo_room_wait (6500);

  printf ("| %-22s | %-12s | %-12s | %7u | %10.1f | %5u |\n", moment_names[moment],
          cancel ? "webrtcdsp" : "none (ref.)", shared ? "shared" : "each its own", hold_ms,
          aic_echo_room_get_level (room), aic_echo_room_get_turns (room));
  fflush (stdout);
  aic_echo_room_free (room);
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) speech = NULL;

  if (!aic_audio_init (&error))
    g_error ("bench-echo: %s", error->message);
  speech = aic_tts_espeak ("The weather today is sunny and warm, with a light breeze from the west. "
                           "Tomorrow clouds will come in from the sea, and rain is likely by the evening. "
                           "The weekend looks dry again, with temperatures around twenty degrees.", NULL, &error);
  if (speech == NULL)
    g_error ("bench-echo: %s", error->message);

  printf ("The reply's echo in the microphone (played speech, %.1f s, fed back at half level)\n\n",
          g_bytes_get_size (speech) / 2.0 / AIC_AUDIO_RATE);
  printf ("| reply                  | cancellation | base time    | hold ms | echo dBFS  | turns |\n");
  printf ("|------------------------|--------------|--------------|--------:|-----------:|------:|\n");
  run_room (speech, FALSE, TRUE, 0, FIRST_REPLY);
  run_room (speech, TRUE, FALSE, 0, FIRST_REPLY);
  run_room (speech, TRUE, TRUE, 0, FIRST_REPLY);
  run_room (speech, TRUE, TRUE, 300, FIRST_REPLY);
  run_room (speech, FALSE, TRUE, 0, SECOND_REPLY);
  run_room (speech, TRUE, TRUE, 0, SECOND_REPLY);
  run_room (speech, TRUE, TRUE, 0, AFTER_BARGE_IN);
  return 0;
}
