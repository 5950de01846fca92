/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "aic-core"

#include "config.h"

#include "aic-client.h"
#include "aic-local-probe.h"

/* Finds an OpenAI-compatible server already running on this machine, for
 * the built-in backend to use as its engine. Every candidate is asked at
 * once; the first in the list's order that answers with a model list wins,
 * so the answer does not depend on which one happens to be fastest. */

static const AicLocalCandidate default_candidates[] = {
  { "Ollama",    "http://127.0.0.1:11434/v1" },
  { "llama.cpp", "http://127.0.0.1:8080/v1" },
  { "LM Studio", "http://127.0.0.1:1234/v1" },
};

typedef struct
{
  const AicLocalCandidate *candidates;
  AicServiceInfo **answers;
  guint n_candidates;
  guint pending;
} ProbeState;

static void
probe_state_free (ProbeState *state)
{
  for (guint i = 0; i < state->n_candidates; i++)
    g_clear_pointer (&state->answers[i], aic_service_info_free);
  g_free (state->answers);
  g_free (state);
}

const AicLocalCandidate *
aic_local_probe_default_candidates (guint *n_candidates)
{
  *n_candidates = G_N_ELEMENTS (default_candidates);
  return default_candidates;
}

void
aic_local_provider_free (AicLocalProvider *provider)
{
  if (provider == NULL)
    return;
  g_free (provider->name);
  g_free (provider->base_url);
  g_strfreev (provider->models);
  g_free (provider);
}

typedef struct
{
  GTask *task;
  guint index;
} Attempt;

static void
check_cb (GObject      *object,
          GAsyncResult *result,
          gpointer      user_data)
{
  Attempt *attempt = user_data;
  g_autoptr(GTask) task = attempt->task;
  ProbeState *state = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  state->answers[attempt->index] = aic_client_check_finish (AIC_CLIENT (object), result, &error);
  if (error != NULL)
    g_debug ("No local server at %s: %s",
             state->candidates[attempt->index].base_url, error->message);
  g_free (attempt);

  if (--state->pending > 0)
    return;

  for (guint i = 0; i < state->n_candidates; i++)
    if (state->answers[i] != NULL)
      {
        AicLocalProvider *provider = g_new0 (AicLocalProvider, 1);

        provider->name = g_strdup (state->candidates[i].name);
        provider->base_url = g_strdup (state->candidates[i].base_url);
        provider->models = g_strdupv (state->answers[i]->models);
        g_task_return_pointer (task, provider, (GDestroyNotify) aic_local_provider_free);
        return;
      }

  if (!g_task_return_error_if_cancelled (task))
    g_task_return_pointer (task, NULL, NULL);
}

/**
 * aic_local_probe_async:
 * @candidates: must stay valid until the callback runs
 */
void
aic_local_probe_async (const AicLocalCandidate *candidates,
                       guint                    n_candidates,
                       guint                    timeout_seconds,
                       GCancellable            *cancellable,
                       GAsyncReadyCallback      callback,
                       gpointer                 user_data)
{
  GTask *task;
  ProbeState *state;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, aic_local_probe_async);

  if (n_candidates == 0)
    {
      g_task_return_pointer (task, NULL, NULL);
      g_object_unref (task);
      return;
    }

  state = g_new0 (ProbeState, 1);
  state->candidates = candidates;
  state->n_candidates = n_candidates;
  state->answers = g_new0 (AicServiceInfo *, n_candidates);
  state->pending = n_candidates;
  g_task_set_task_data (task, state, (GDestroyNotify) probe_state_free);

  for (guint i = 0; i < n_candidates; i++)
    {
      g_autoptr(AicConnection) connection =
        aic_connection_new (NULL, candidates[i].name, AIC_CONNECTION_KIND_OPENAI, candidates[i].base_url);
      g_autoptr(AicClient) client = aic_client_new (connection, NULL);
      Attempt *attempt = g_new0 (Attempt, 1);

      attempt->task = g_object_ref (task);
      attempt->index = i;
      aic_client_set_timeout (client, timeout_seconds);
      aic_client_check_async (client, cancellable, check_cb, attempt);
    }

  g_object_unref (task);
}

/**
 * aic_local_probe_finish:
 * Returns: (transfer full) (nullable): the provider found, or %NULL
 *   without an error when none answered
 */
AicLocalProvider *
aic_local_probe_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
