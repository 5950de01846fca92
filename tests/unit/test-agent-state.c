/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-agent-planner-private.h"
#include "aic-agent-tools.h"
#include "aic-error.h"
#include "aic-json.h"
#include "aic-run-state.h"

/* What the agent loop keeps and builds without a server: a run's typed
 * state and its JSON on disk (including what earlier servers wrote), the
 * tool table and the lists made from it, and the conversation converted
 * for the Anthropic Messages API. */

/* A run's memory as the server before the typed state wrote it. */
static const char old_memory[] =
  "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"Goal\"}],"
  "\"queue\":[{\"id\":\"call-1\",\"name\":\"write_file\",\"arguments\":\"{}\",\"announced\":true,\"approved\":true},"
  "{\"id\":\"call-2\",\"name\":\"run_command\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}],"
  "\"allowed\":[\"run_command:execute:true\"],\"steps\":3,\"started\":true}";

static void
test_states (void)
{
  AicRunState state;

  for (AicRunState s = AIC_RUN_STATE_PLANNING; s <= AIC_RUN_STATE_FAILED; s++)
    {
      g_assert_true (aic_run_state_from_string (aic_run_state_to_string (s), &state));
      g_assert_cmpint (state, ==, s);
    }
  g_assert_cmpstr (aic_run_state_to_string (AIC_RUN_STATE_WAITING), ==, "waiting");
  g_assert_false (aic_run_state_from_string ("sleeping", &state));
  g_assert_false (aic_run_state_from_string (NULL, &state));
  g_assert_false (aic_run_state_is_final (AIC_RUN_STATE_RUNNING));
  g_assert_true (aic_run_state_is_final (AIC_RUN_STATE_CANCELLED));
}

static void
test_memory (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicRunMemory) memory = aic_run_memory_from_json (old_memory, &error);
  g_autoptr(AicRunMemory) again = NULL;
  g_autofree char *text = NULL;
  AicRunCall *call;

  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (memory->messages), ==, 2);
  g_assert_cmpuint (memory->queue->len, ==, 2);
  call = g_ptr_array_index (memory->queue, 0);
  g_assert_cmpstr (call->name, ==, "write_file");
  g_assert_true (call->announced);
  g_assert_true (call->approved);
  g_assert_false (call->executing);
  call = g_ptr_array_index (memory->queue, 1);
  g_assert_cmpstr (call->arguments, ==, "{\"command\":\"ls\"}");
  g_assert_false (call->announced);
  g_assert_cmpuint (memory->steps, ==, 3);
  g_assert_true (memory->started);
  g_assert_true (aic_run_memory_allows (memory, "run_command:execute:true"));
  g_assert_false (aic_run_memory_allows (memory, "run_command:execute:rm"));
  g_assert_false (aic_run_memory_allows (memory, "write_file:write"));
  g_assert_false (aic_run_memory_allows (memory, NULL));

  /* Written and read again, nothing changes. */
  call->executing = TRUE;
  text = aic_run_memory_to_json (memory);
  again = aic_run_memory_from_json (text, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->queue->len, ==, 2);
  g_assert_true (((AicRunCall *) g_ptr_array_index (again->queue, 1))->executing);
  g_assert_cmpuint (again->steps, ==, 3);
  g_assert_cmpuint (again->allowed->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (again->messages, 1), "content"), ==, "Goal");

  /* The conversation grows: the tree read from disk takes more. */
  json_array_add_object_element (again->messages, json_object_new ());
  g_assert_cmpuint (json_array_get_length (again->messages), ==, 3);
}

static void
test_memory_errors (void)
{
  static const char * const bad[] = {
    "not json",
    "[]",
    "{\"queue\": {}}",
    "{\"queue\": [{\"id\": \"a\"}]}",
    "{\"queue\": [{\"id\": \"a\", \"name\": \"x\", \"approved\": \"yes\"}]}",
    "{\"allowed\": [1]}",
    "{\"steps\": \"three\"}",
  };
  g_autoptr(AicRunMemory) empty = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(AicRunMemory) memory = aic_run_memory_from_json (bad[i], &local_error);

      g_assert_null (memory);
      g_assert_error (local_error, AIC_ERROR, AIC_ERROR_PROTOCOL);
    }
  /* Missing members are a new run's. */
  empty = aic_run_memory_from_json ("{}", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (empty->queue->len, ==, 0);
  g_assert_cmpuint (json_array_get_length (empty->messages), ==, 0);
  g_assert_false (empty->started);
}

static void
test_pending (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(AicRunPending) pending =
    aic_run_pending_from_json ("{\"message\":{\"type\":\"need_input\",\"resume_token\":\"tok\",\"seq\":7},"
                               "\"call_id\":\"call-1\"}", &error);
  g_autoptr(AicRunPending) again = NULL;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (pending->call_id, ==, "call-1");
  g_assert_cmpstr (aic_run_pending_get_token (pending), ==, "tok");
  text = aic_run_pending_to_json (pending);
  again = aic_run_pending_from_json (text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (again->message, "seq"), ==, 7);

  g_clear_pointer (&again, aic_run_pending_free);
  again = aic_run_pending_from_json ("{\"message\":{},\"call_id\":\"c\"}", &error);
  g_assert_null (again);
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
}

static void
test_tool_table (void)
{
  static const struct { const char *name; AicAgentRisk risk; } expected[] = {
    { "list_dir", AIC_AGENT_RISK_READ },
    { "read_file", AIC_AGENT_RISK_READ },
    { "search_text", AIC_AGENT_RISK_READ },
    { "write_file", AIC_AGENT_RISK_WRITE },
    { "run_command", AIC_AGENT_RISK_EXECUTE },
    { "ask_user", AIC_AGENT_RISK_QUESTION },
  };
  g_autoptr(JsonNode) openai = aic_agent_tools_openai_schema ();
  g_autoptr(JsonNode) anthropic = aic_agent_tools_anthropic_schema ();
  guint n = aic_agent_tools_get_n ();
  AicAgentRisk risk;

  g_assert_cmpuint (n, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      const AicAgentTool *tool = aic_agent_tools_lookup (expected[i].name);
      JsonObject *entry = json_array_get_object_element (json_node_get_array (openai), i);
      JsonObject *function = json_object_get_object_member (entry, "function");
      JsonObject *block = json_array_get_object_element (json_node_get_array (anthropic), i);

      g_assert_nonnull (tool);
      g_assert_true (tool == aic_agent_tools_get_nth (i));
      g_assert_cmpint (tool->risk, ==, expected[i].risk);
      /* Questions are the hub's to ask; every other tool runs. */
      g_assert_true ((tool->run == NULL) == (tool->risk == AIC_AGENT_RISK_QUESTION));

      g_assert_cmpstr (json_object_get_string_member (entry, "type"), ==, "function");
      g_assert_cmpstr (json_object_get_string_member (function, "name"), ==, tool->name);
      g_assert_cmpstr (json_object_get_string_member (function, "description"), ==, tool->description);
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (function, "parameters"), "type"),
                       ==, "object");
      g_assert_cmpstr (json_object_get_string_member (block, "name"), ==, tool->name);
      g_assert_true (json_object_has_member (json_object_get_object_member (block, "input_schema"), "properties"));
    }
  g_assert_null (aic_agent_tools_lookup ("format_disk"));
  g_assert_true (aic_agent_risk_from_string ("execute", &risk));
  g_assert_cmpint (risk, ==, AIC_AGENT_RISK_EXECUTE);
  g_assert_false (aic_agent_risk_from_string ("network", &risk));
}

static void
test_describe (void)
{
  g_autoptr(JsonNode) args = json_from_string ("{\"path\": \"a.txt\", \"command\": \"make\"}", NULL);
  g_autofree char *write = aic_agent_tool_describe (aic_agent_tools_lookup ("write_file"), json_node_get_object (args));
  g_autofree char *run = aic_agent_tool_describe (aic_agent_tools_lookup ("run_command"), json_node_get_object (args));
  g_autofree char *read = aic_agent_tool_describe (aic_agent_tools_lookup ("read_file"), json_node_get_object (args));

  g_assert_cmpstr (write, ==, "The agent wants to write a.txt.");
  g_assert_cmpstr (run, ==, "The agent wants to run “make”.");
  g_assert_cmpstr (read, ==, "The agent wants to use read_file.");
}

/* The loop's memory, OpenAI-shaped, as Anthropic wants it. */
static void
test_anthropic_messages (void)
{
  g_autoptr(JsonNode) memory = json_from_string (
    "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
    "{\"role\":\"user\",\"content\":\"Goal\"},"
    "{\"role\":\"assistant\",\"content\":\"Looking.\",\"tool_calls\":["
    "  {\"id\":\"t1\",\"type\":\"function\",\"function\":{\"name\":\"list_dir\",\"arguments\":\"{\\\"path\\\":\\\".\\\"}\"}},"
    "  {\"id\":\"t2\",\"type\":\"function\",\"function\":{\"name\":\"read_file\",\"arguments\":\"not json\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"{\\\"entries\\\":[]}\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"t2\",\"content\":\"{\\\"error\\\":\\\"invalid_arguments\\\"}\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
    "  {\"id\":\"t3\",\"type\":\"function\",\"function\":{\"name\":\"ask_user\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"t3\",\"content\":\"{\\\"answer\\\":\\\"blue\\\"}\"}]", NULL);
  g_autofree char *system = NULL;
  g_autoptr(JsonNode) converted = aic_agent_anthropic_messages (json_node_get_array (memory), &system);
  JsonArray *messages = json_node_get_array (converted);
  JsonArray *blocks;
  JsonObject *block;

  g_assert_cmpstr (system, ==, "Be brief.");
  g_assert_cmpuint (json_array_get_length (messages), ==, 5);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 0), "content"), ==, "Goal");

  blocks = json_object_get_array_member (json_array_get_object_element (messages, 1), "content");
  g_assert_cmpuint (json_array_get_length (blocks), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (blocks, 0), "type"), ==, "text");
  block = json_array_get_object_element (blocks, 1);
  g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "tool_use");
  g_assert_cmpstr (json_object_get_string_member (block, "id"), ==, "t1");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (block, "input"), "path"), ==, ".");
  /* Arguments that never parsed go as an empty input. */
  block = json_array_get_object_element (blocks, 2);
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (block, "input")), ==, 0);

  /* Two results in one user message, the failed one marked. */
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (messages, 2), "role"), ==, "user");
  blocks = json_object_get_array_member (json_array_get_object_element (messages, 2), "content");
  g_assert_cmpuint (json_array_get_length (blocks), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (blocks, 0), "tool_use_id"), ==, "t1");
  g_assert_false (json_object_has_member (json_array_get_object_element (blocks, 0), "is_error"));
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (blocks, 1), "tool_use_id"), ==, "t2");
  g_assert_true (json_object_get_boolean_member (json_array_get_object_element (blocks, 1), "is_error"));

  /* A turn of calls only: no empty text block. */
  blocks = json_object_get_array_member (json_array_get_object_element (messages, 3), "content");
  g_assert_cmpuint (json_array_get_length (blocks), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (blocks, 0), "type"), ==, "tool_use");
  blocks = json_object_get_array_member (json_array_get_object_element (messages, 4), "content");
  g_assert_cmpuint (json_array_get_length (blocks), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/agent-state/states", test_states);
  g_test_add_func ("/agent-state/memory", test_memory);
  g_test_add_func ("/agent-state/memory-errors", test_memory_errors);
  g_test_add_func ("/agent-state/pending", test_pending);
  g_test_add_func ("/agent-state/tool-table", test_tool_table);
  g_test_add_func ("/agent-state/describe", test_describe);
  g_test_add_func ("/agent-state/anthropic-messages", test_anthropic_messages);

  return g_test_run ();
}
