/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ai-console-cli"

#include "config.h"

#include <glib/gi18n.h>
#include <glib-unix.h>

#include "aic-audio.h"
#include "aic-audio-capture.h"
#include "aic-audio-playback.h"
#include "aic-cli.h"
#include "aic-error.h"
#include "aic-pcm.h"
#include "aic-voice-call.h"
#include "aic-voice-session.h"

typedef struct
{
  GMainLoop        *loop;
  AicVoiceSession  *session;
  AicAudioCapture  *capture;
  AicAudioPlayback *playback;      /* real-time output, or NULL with --fast */
  GByteArray       *reply_pcm;     /* --fast: the reply audio, written at the end */
  GString          *reply;
  gboolean          input_done;
  gboolean          response_active;
  guint             turns;
  guint             quiet_source;
  GError           *error;
} VoiceRun;

static gboolean
voice_quiet_cb (gpointer data)
{
  VoiceRun *run = data;

  run->quiet_source = 0;
  if (!run->response_active && (run->playback == NULL || !aic_audio_playback_is_playing (run->playback)))
    {
      g_main_loop_quit (run->loop);
      return G_SOURCE_REMOVE;
    }
  run->quiet_source = g_timeout_add (200, voice_quiet_cb, run);
  return G_SOURCE_REMOVE;
}

/* Done once the input is used up and nothing more is being said. */
static void
voice_maybe_done (VoiceRun *run)
{
  if (run->input_done && run->quiet_source == 0)
    run->quiet_source = g_timeout_add (1500, voice_quiet_cb, run);
}

static void
voice_input_done_cb (AicVoiceCall *call,
                     VoiceRun     *run)
{
  run->input_done = TRUE;
  voice_maybe_done (run);
}

static void
voice_capture_failed_cb (AicAudioCapture *capture,
                         GError          *error,
                         VoiceRun        *run)
{
  if (run->error == NULL)
    run->error = g_error_copy (error);
  g_main_loop_quit (run->loop);
}

static void
voice_user_cb (AicVoiceSession *session,
               const char      *text,
               VoiceRun        *run)
{
  g_autofree char *shown = aic_cli_for_stdout (text);

  /* Not translated: scripts read these prefixes. */
  g_print ("you: %s\n", shown);
}

static void
voice_reply_text_cb (AicVoiceSession *session,
                     const char      *text,
                     VoiceRun        *run)
{
  run->response_active = TRUE;
  g_string_append (run->reply, text);
}

static void
voice_reply_audio_cb (AicVoiceSession *session,
                      GBytes          *pcm,
                      VoiceRun        *run)
{
  run->response_active = TRUE;
  /* With a playback, the call plays it; with --fast it is kept here. */
  if (run->playback == NULL)
    g_byte_array_append (run->reply_pcm, g_bytes_get_data (pcm, NULL), g_bytes_get_size (pcm));
}

static void
voice_done_cb (AicVoiceSession *session,
               const char      *status,
               VoiceRun        *run)
{
  g_autofree char *shown = aic_cli_for_stdout (run->reply->str);

  run->response_active = FALSE;
  run->turns++;
  if (g_str_equal (status, "completed"))
    g_print ("assistant: %s\n", shown);
  else
    g_print ("assistant: %s [%s]\n", shown, status);
  g_string_truncate (run->reply, 0);
  voice_maybe_done (run);
}

static void
voice_server_error_cb (AicVoiceSession *session,
                       const char      *text,
                       VoiceRun        *run)
{
  /* No turn can ever be answered: say so once and stop. */
  if (g_strcmp0 (aic_voice_session_get_error_code (session), "no_speech_to_text") == 0)
    {
      if (run->error == NULL)
        run->error = g_error_new_literal (AIC_ERROR, AIC_ERROR_UNSUPPORTED, text);
      g_main_loop_quit (run->loop);
      return;
    }
  g_printerr (_("The voice server says: %s\n"), text);
}

static void
voice_disconnected_cb (AicVoiceSession *session,
                       GError          *error,
                       VoiceRun        *run)
{
  if (run->error == NULL)
    run->error = g_error_copy (error);
  g_main_loop_quit (run->loop);
}

static void
voice_connected_cb (GObject      *object,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  VoiceRun *run = user_data;
  GError *error = NULL;

  if (!aic_voice_session_connect_finish (AIC_VOICE_SESSION (object), result, &error) ||
      !aic_audio_capture_start (run->capture, &error))
    {
      run->error = error;
      g_main_loop_quit (run->loop);
    }
}

static void
voice_finished_cb (GObject      *object,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  VoiceRun *run = user_data;

  aic_audio_playback_finish_finish (AIC_AUDIO_PLAYBACK (object), result, run->error ? NULL : &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
voice_interrupt_cb (gpointer data)
{
  VoiceRun *run = data;

  if (run->error == NULL)
    run->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, _("Stopped."));
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

int
aic_cli_voice (int    argc,
               char **argv)
{
  g_auto(AicCliTarget) target = { 0 };
  g_autofree char *input = NULL;
  g_autofree char *output = NULL;
  gboolean fast = FALSE, push_to_talk = FALSE;
  const GOptionEntry entries[] = {
    AIC_CLI_TARGET_ENTRIES (target),
    { "model", 'm', 0, G_OPTION_ARG_STRING, &target.model, N_("The provider’s model (default: its first)"), N_("MODEL") },
    { "speech-url", 0, 0, G_OPTION_ARG_STRING, &target.speech_url, N_("With --kind: an OpenAI-compatible server for speech to text and text to speech"), N_("URL") },
    { "speech-key-env", 0, 0, G_OPTION_ARG_STRING, &target.speech_key_env, N_("Take the speech server’s key from this environment variable"), N_("VAR") },
    { "input", 'i', 0, G_OPTION_ARG_FILENAME, &input, N_("A WAV file to use as the microphone"), N_("IN.wav") },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, N_("Where to write the replies’ audio (WAV)"), N_("OUT.wav") },
    { "fast", 0, 0, G_OPTION_ARG_NONE, &fast, N_("Send the input as fast as possible, not at the pace of speech"), NULL },
    { "push-to-talk", 0, 0, G_OPTION_ARG_NONE, &push_to_talk, N_("No turn detection on the server: the whole input is one turn"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(AicClient) client = NULL;
  g_autoptr(AicVoiceSession) session = NULL;
  g_autoptr(AicAudioCapture) capture = NULL;
  g_autoptr(AicAudioPlayback) playback = NULL;
  g_autoptr(AicVoiceCall) call = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  VoiceRun run = { 0 };
  guint signal_source;
  int status = 0;

  if (!aic_cli_parse_options (&argc, &argv, entries, _("— a spoken conversation from a file"),
                      _("Transcripts of both sides go to the standard output. The command ends "
                                               "once the input is used up and the last reply has finished.")))
    return 2;
  if (target.url == NULL || input == NULL || output == NULL)
    {
      g_printerr (_("voice needs --url URL, --input IN.wav and --output OUT.wav.\n"));
      return 2;
    }
  if (!g_file_test (input, G_FILE_TEST_IS_REGULAR))
    {
      g_printerr (_("“%s” is not a file.\n"), input);
      return 2;
    }
  if ((status = aic_cli_target_check (&target)) != 0)
    return status;
  if (!aic_audio_init (&error))
    {
      g_printerr (_("Error: %s\n"), error->message);
      return 2;
    }

  if ((client = aic_cli_target_connect (&target)) == NULL)
    return 1;
  session = aic_voice_session_new (client, "/api/voice");
  if (push_to_talk)
    aic_voice_session_set_turn_detection (session, FALSE, 0, 0, 0);
  capture = aic_audio_capture_new_file (input, !fast);
  loop = g_main_loop_new (NULL, FALSE);

  run.loop = loop;
  run.session = session;
  run.capture = capture;
  run.reply = g_string_new (NULL);
  run.reply_pcm = g_byte_array_new ();
  if (!fast)
    {
      playback = aic_audio_playback_new_file (output);
      if (!aic_audio_playback_start (playback, &error))
        {
          g_printerr (_("Error: %s\n"), error->message);
          return 1;
        }
      run.playback = playback;
    }

  call = aic_voice_call_new (session, capture, playback);
  g_signal_connect (call, "input-finished", G_CALLBACK (voice_input_done_cb), &run);
  g_signal_connect (capture, "failed", G_CALLBACK (voice_capture_failed_cb), &run);
  g_signal_connect (session, "user-transcript", G_CALLBACK (voice_user_cb), &run);
  g_signal_connect (session, "reply-transcript", G_CALLBACK (voice_reply_text_cb), &run);
  g_signal_connect (session, "reply-audio", G_CALLBACK (voice_reply_audio_cb), &run);
  g_signal_connect (session, "response-done", G_CALLBACK (voice_done_cb), &run);
  g_signal_connect (session, "server-error", G_CALLBACK (voice_server_error_cb), &run);
  g_signal_connect (session, "disconnected", G_CALLBACK (voice_disconnected_cb), &run);

  signal_source = g_unix_signal_add (SIGINT, voice_interrupt_cb, &run);
  aic_voice_session_connect_async (session, NULL, voice_connected_cb, &run);
  g_main_loop_run (loop);

  aic_audio_capture_stop (capture);
  if (run.error == NULL && push_to_talk && run.turns == 0)
    {
      /* The whole input was one turn: ask for the reply now. */
      aic_voice_session_commit (session);
      run.response_active = TRUE;
      g_main_loop_run (loop);
    }
  if (run.error == NULL && playback != NULL)
    {
      aic_audio_playback_finish_async (playback, NULL, voice_finished_cb, &run);
      g_main_loop_run (loop);
    }
  else if (run.error == NULL)
    {
      g_autoptr(GBytes) pcm = g_bytes_new (run.reply_pcm->data, run.reply_pcm->len);
      g_autoptr(GBytes) wav = aic_pcm_wav_bytes (pcm);

      if (!g_file_set_contents (output, g_bytes_get_data (wav, NULL), g_bytes_get_size (wav), &error))
        run.error = g_steal_pointer (&error);
    }
  g_source_remove (signal_source);
  g_clear_handle_id (&run.quiet_source, g_source_remove);
  aic_voice_session_close (session);

  if (run.error != NULL)
    {
      g_printerr (_("Error: %s\n"), run.error->message);
      g_error_free (run.error);
      status = 1;
    }
  else if (run.turns == 0)
    g_printerr (_("No turn was heard in the input.\n"));
  g_string_free (run.reply, TRUE);
  g_byte_array_unref (run.reply_pcm);
  return status;
}
