/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "aic-audio-capture.h"
#include "aic-audio-playback.h"

G_BEGIN_DECLS

/* A room without loudspeaker or microphone, for tests and bench-echo.
 *
 * Playback renders into an appsink (the speaker); a thread on the system
 * clock feeds the capture's appsrc (the microphone) 10 ms at a time, as a
 * sound card does: a quiet noise floor plus, at half level and 2 ms
 * later, what the speaker played at that moment: the reply carried from
 * the speakers into the microphone, with the fixed delay of a real room. The room also listens to the captured frames as the server
 * would: their level, and how many turns its VAD (threshold 0.5, i.e.
 * -35 dBFS) would have started.
 */
#define AIC_ECHO_ROOM_SPEAKER "audioconvert ! audioresample ! " \
                              "audio/x-raw,format=S16LE,rate=48000,channels=1 ! appsink name=speaker sync=true"
#define AIC_ECHO_ROOM_MICROPHONE "appsrc name=mic is-live=true format=time min-latency=30000000 " \
                                 "caps=audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved"

typedef struct _AicEchoRoom AicEchoRoom;

/* Builds playback and capture for the room and starts them: with echo
 * cancellation or without, on one shared base time or each its own. */
AicEchoRoom *aic_echo_room_new        (gboolean          cancel,
                                       gboolean          shared_base_time,
                                       GError          **error);
AicAudioPlayback *aic_echo_room_get_playback (AicEchoRoom *room);
AicAudioCapture  *aic_echo_room_get_capture  (AicEchoRoom *room);
/* Stops the microphone thread and both pipelines. */
void         aic_echo_room_free       (AicEchoRoom      *room);
/* Hands @speech to playback as a server sends reply audio: 40 ms pieces,
 * all at once. */
void         aic_echo_room_play       (AicEchoRoom      *room,
                                       GBytes           *speech);
/* Forgets what was heard so far: turns are counted from now, the level
 * from @settle_ms from now. */
void         aic_echo_room_speak      (AicEchoRoom      *room,
                                       GBytes           *speech,
                                       guint             after_ms);
void         aic_echo_room_listen     (AicEchoRoom      *room,
                                       guint             settle_ms);
double       aic_echo_room_get_level  (AicEchoRoom      *room);
guint        aic_echo_room_get_turns  (AicEchoRoom      *room);
gint64       aic_echo_room_get_first_turn (AicEchoRoom  *room);
/* Runs the default main context for @milliseconds. */
void         aic_echo_room_wait       (guint             milliseconds);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (AicEchoRoom, aic_echo_room_free)

G_END_DECLS
