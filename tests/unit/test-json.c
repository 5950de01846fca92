/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-error.h"
#include "aic-json.h"
#include "aic-service-info.h"

static JsonNode *
parse (const char *text)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));
  g_autoptr(GError) error = NULL;
  JsonNode *node = aic_json_parse_bytes (bytes, &error);

  g_assert_no_error (error);
  return node;
}

static void
test_health_full (void)
{
  g_autoptr(JsonNode) root = parse (
    "{\"status\": \"ok\", \"version\": \"1.2\", \"features\": [\"chat\", \"voice\"],"
    " \"engine\": {\"kind\": \"openai\", \"upstream\": \"http://127.0.0.1:11434/v1\"},"
    " \"models\": [\"a\", \"b\"], \"limits\": {\"max_upload_bytes\": 1048576},"
    " \"unknown\": {\"ignored\": true}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = aic_service_info_parse_health (root, &error);
  g_autoptr(AicServiceInfo) copy = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (info->status, ==, "ok");
  g_assert_cmpstr (info->version, ==, "1.2");
  g_assert_true (aic_service_info_has_feature (info, "voice"));
  g_assert_false (aic_service_info_has_feature (info, "agent"));
  g_assert_cmpstr (info->engine_kind, ==, "openai");
  g_assert_cmpstr (info->engine_upstream, ==, "http://127.0.0.1:11434/v1");
  g_assert_cmpuint (g_strv_length (info->models), ==, 2);
  g_assert_cmpint (info->max_upload_bytes, ==, 1048576);

  copy = aic_service_info_copy (info);
  g_assert_cmpstr (copy->models[1], ==, "b");
  g_assert_true (json_node_equal (copy->raw, info->raw));
}

static void
test_health_minimal (void)
{
  g_autoptr(JsonNode) root = parse ("{\"status\": \"ok\", \"engine\": {\"kind\": \"demo\", \"upstream\": null}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = aic_service_info_parse_health (root, &error);

  g_assert_no_error (error);
  g_assert_nonnull (info->models);
  g_assert_cmpuint (g_strv_length (info->models), ==, 0);
  g_assert_nonnull (info->features);
  g_assert_null (info->engine_upstream);
  g_assert_cmpint (info->max_upload_bytes, ==, 0);
}

static void
test_health_wrong_types (void)
{
  const char *cases[] = {
    "{\"version\": \"1\"}",                                  /* no status */
    "{\"status\": 1}",
    "{\"status\": \"ok\", \"features\": \"chat\"}",
    "{\"status\": \"ok\", \"features\": [1]}",
    "{\"status\": \"ok\", \"models\": [\"a\", null]}",
    "{\"status\": \"ok\", \"engine\": \"demo\"}",
    "{\"status\": \"ok\", \"engine\": {\"kind\": 3}}",
    "{\"status\": \"ok\", \"limits\": {\"max_upload_bytes\": \"big\"}}",
    "{\"status\": \"ok\", \"limits\": {\"max_upload_bytes\": 1.5}}",
    "[\"status\", \"ok\"]",
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) root = parse (cases[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(AicServiceInfo) info = aic_service_info_parse_health (root, &error);

      g_test_message ("case %u: %s", i, cases[i]);
      g_assert_null (info);
      g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
      g_assert_nonnull (error->message);
    }
}

static void
test_models (void)
{
  g_autoptr(JsonNode) root = parse ("{\"object\": \"list\", \"data\": [{\"id\": \"llama3\", \"owned_by\": \"x\"}, {\"id\": \"qwen\"}]}");
  g_autoptr(GError) error = NULL;
  g_autoptr(AicServiceInfo) info = aic_service_info_parse_models (root, &error);

  g_assert_no_error (error);
  g_assert_null (info->status);
  g_assert_cmpuint (g_strv_length (info->models), ==, 2);
  g_assert_cmpstr (info->models[0], ==, "llama3");
}

static void
test_models_wrong (void)
{
  struct { const char *json; int code; } cases[] = {
    { "{\"models\": []}", AIC_ERROR_WRONG_SERVER },
    { "{\"data\": {}}", AIC_ERROR_WRONG_SERVER },
    { "{\"data\": [\"llama3\"]}", AIC_ERROR_PROTOCOL },
    { "{\"data\": [{\"name\": \"llama3\"}]}", AIC_ERROR_PROTOCOL },
    { "{\"data\": [{\"id\": 7}]}", AIC_ERROR_PROTOCOL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) root = parse (cases[i].json);
      g_autoptr(GError) error = NULL;
      g_autoptr(AicServiceInfo) info = aic_service_info_parse_models (root, &error);

      g_assert_null (info);
      g_assert_error (error, AIC_ERROR, cases[i].code);
    }
}

static void
test_parse_bad_bytes (void)
{
  struct { const char *data; gsize len; } cases[] = {
    { "", 0 },
    { "{\"a\": \"\xff\xfe\"}", 12 },
    { "{\"a\": ", 6 },
    { "<html>", 6 },
    /* Found by fuzz-json: json-glib reads these as no document at all,
     * without an error. */
    { " ", 1 },
    { "//", 2 },
    { "/* nothing */\n", 14 },
    /* Also found by fuzz-json: json-glib accepts a short \u escape and
     * makes bytes of it that are not UTF-8. */
    { "[\"\\ud9 {\"]", 11 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (cases[i].data, cases[i].len);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = aic_json_parse_bytes (bytes, &error);

      g_assert_null (node);
      g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
    }
}

static void
test_getters (void)
{
  g_autoptr(JsonNode) root = parse ("{\"s\": \"x\", \"n\": null, \"i\": 4}");
  JsonObject *object = json_node_get_object (root);
  g_autoptr(GError) error = NULL;
  const char *s;
  gint64 i;

  g_assert_true (aic_json_get_string (object, "s", TRUE, &s, &error));
  g_assert_cmpstr (s, ==, "x");
  /* null counts as absent */
  g_assert_true (aic_json_get_string (object, "n", FALSE, &s, &error));
  g_assert_null (s);
  g_assert_false (aic_json_get_string (object, "n", TRUE, &s, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (aic_json_get_string (object, "i", FALSE, &s, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_true (aic_json_get_int (object, "i", TRUE, &i, &error));
  g_assert_cmpint (i, ==, 4);
}

/* @depth levels of @open … @close around @inner. */
static char *
nested (guint       depth,
        const char *open,
        const char *inner,
        const char *close)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append (text, open);
  g_string_append (text, inner);
  for (guint i = 0; i < depth; i++)
    g_string_append (text, close);
  return g_string_free (text, FALSE);
}

static void
assert_depth (const char *text,
              gboolean    accepted)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = aic_json_parse_data (text, -1, &error);
  gboolean checked;

  g_clear_error (&error);
  checked = aic_json_check_depth (text, strlen (text), AIC_JSON_MAX_DEPTH, &error);
  if (accepted)
    {
      g_assert_no_error (error);
      g_assert_true (checked);
      g_assert_nonnull (node);
    }
  else
    {
      g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
      g_assert_false (checked);
      g_assert_null (node);
    }
}

static void
test_depth_limit (void)
{
  g_autofree char *arrays_64 = nested (64, "[", "1", "]");
  g_autofree char *arrays_65 = nested (65, "[", "1", "]");
  g_autofree char *objects_64 = nested (63, "{\"a\":", "{}", "}");
  g_autofree char *objects_65 = nested (64, "{\"a\":", "{}", "}");
  g_autofree char *mixed_65 = nested (33, "[{\"k\":", "[]", "}]");
  g_autofree char *deep = nested (100000, "[", "", "]");
  g_autofree char *sequential = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (AIC_JSON_MAX_DEPTH, ==, 64);
  assert_depth (arrays_64, TRUE);
  assert_depth (arrays_65, FALSE);
  assert_depth (objects_64, TRUE);
  assert_depth (objects_65, FALSE);
  /* 33 × 2 + 1 = 67 */
  assert_depth (mixed_65, FALSE);

  /* The attack from the issue: 200 KB, refused before json-glib sees it. */
  g_assert_cmpuint (strlen (deep), ==, 200000);
  assert_depth (deep, FALSE);
  g_assert_null (aic_json_parse_mutable (deep, -1, &error));
  g_assert_error (error, AIC_ERROR, AIC_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "64"));

  /* Depth is nesting, not the number of brackets. */
  sequential = g_strdup_printf ("[%s, %s, %s]", arrays_64, arrays_64, arrays_64);
  g_assert_true (aic_json_check_depth (sequential, strlen (sequential), 65, NULL));
  g_assert_false (aic_json_check_depth (sequential, strlen (sequential), 64, NULL));
}

static void
test_depth_strings (void)
{
  g_autofree char *brackets = g_strnfill (1000, '[');
  g_autofree char *in_string = g_strdup_printf ("{\"text\": \"%s{{{\"}", brackets);
  g_autofree char *escaped_quote = g_strdup_printf ("[\"a\\\"%s\"]", brackets);
  g_autofree char *escaped_backslash = NULL;
  g_autofree char *after_string = NULL;
  g_autofree char *arrays_64 = nested (64, "[", "1", "]");

  /* Brackets inside strings are text. */
  assert_depth (in_string, TRUE);
  /* \" does not end the string: the brackets after it are still text. */
  assert_depth (escaped_quote, TRUE);

  /* \\ is an escaped backslash, so the quote after it does end the string
   * and the 65 levels after it count. */
  escaped_backslash = g_strdup_printf ("[\"a\\\\\", %s]", arrays_64);
  assert_depth (escaped_backslash, FALSE);

  /* A closed string does not hide what follows. */
  after_string = g_strdup_printf ("[\"]]]]\", %s]", arrays_64);
  assert_depth (after_string, FALSE);

  /* Unbalanced closers are json-glib's to refuse; they lend no depth. */
  g_assert_true (aic_json_check_depth ("]]]]", 4, 1, NULL));
  g_assert_false (aic_json_check_depth ("]]]][[", 6, 1, NULL));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/getters", test_getters);
  g_test_add_func ("/json/bad-bytes", test_parse_bad_bytes);
  g_test_add_func ("/json/depth/limit", test_depth_limit);
  g_test_add_func ("/json/depth/strings", test_depth_strings);
  g_test_add_func ("/service-info/health/full", test_health_full);
  g_test_add_func ("/service-info/health/minimal", test_health_minimal);
  g_test_add_func ("/service-info/health/wrong-types", test_health_wrong_types);
  g_test_add_func ("/service-info/models", test_models);
  g_test_add_func ("/service-info/models/wrong", test_models_wrong);

  return g_test_run ();
}
