/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "aic-summary.h"

static const char document[] =
  "# Solar power in small towns\n"
  "\n"
  "Solar panels have become cheap enough that small towns can power public buildings on their own. "
  "The town of Example saved forty percent of its electricity costs in the first year. "
  "Batteries store the surplus for the evening, when demand is highest.\n"
  "\n"
  "```\ncode blocks are not sentences at all, never ever.\n```\n"
  "\n"
  "- Critics point out that winter output is low and that panels need space.\n"
  "- Engineers answer that rooftop solar panels use no extra land.\n"
  "\n"
  "Funding for the solar panels came from a regional grant, Dr. Smith said. Too short.\n";

static void
test_sentences (void)
{
  g_autoptr(GPtrArray) sentences = aic_summary_split_sentences (document);

  g_assert_cmpuint (sentences->len, ==, 6);
  g_assert_cmpstr (g_ptr_array_index (sentences, 0), ==,
                   "Solar panels have become cheap enough that small towns can power public buildings on their own.");
  /* List items are sentences of their own, without their bullets. */
  g_assert_cmpstr (g_ptr_array_index (sentences, 3), ==,
                   "Critics point out that winter output is low and that panels need space.");
  /* "Dr." does not end a sentence; "Too short." has fewer than four words. */
  g_assert_cmpstr (g_ptr_array_index (sentences, 5), ==,
                   "Funding for the solar panels came from a regional grant, Dr. Smith said.");
  for (guint i = 0; i < sentences->len; i++)
    g_assert_null (strstr (g_ptr_array_index (sentences, i), "code blocks"));
}

static void
test_parts (void)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GPtrArray) parts = NULL;
  gsize total = 0;

  for (int i = 0; i < 200; i++)
    g_string_append_printf (text, "Paragraph %d has a few words in it, and ünïcödé too.\n\n", i);
  parts = aic_summary_split_parts (text->str, 1000);
  g_assert_cmpuint (parts->len, >, 10);
  for (guint i = 0; i < parts->len; i++)
    {
      const char *part = g_ptr_array_index (parts, i);

      g_assert_cmpuint (strlen (part), <=, 1000);
      g_assert_true (g_utf8_validate (part, -1, NULL));
      /* Cut at paragraph breaks: every part starts a paragraph. */
      g_assert_true (g_str_has_prefix (part, "Paragraph "));
      total += strlen (part);
    }
  g_assert_cmpuint (total, >, text->len * 9 / 10);

  /* One long line without spaces is still cut, on character boundaries. */
  {
    g_autoptr(GString) line = g_string_new (NULL);
    g_autoptr(GPtrArray) cut = NULL;

    for (int i = 0; i < 500; i++)
      g_string_append (line, "é");
    cut = aic_summary_split_parts (line->str, 101);
    g_assert_cmpuint (cut->len, ==, 10);
    for (guint i = 0; i < cut->len; i++)
      g_assert_true (g_utf8_validate (g_ptr_array_index (cut, i), -1, NULL));
  }
}

static void
test_title (void)
{
  g_autofree char *heading = aic_summary_guess_title (document, "x.md");
  g_autofree char *line = aic_summary_guess_title ("Quarterly report\n\nText follows here.", "y.txt");
  g_autofree char *name = aic_summary_guess_title ("This is a sentence that ends.\nMore.", "notes/plan.final.txt");

  g_assert_cmpstr (heading, ==, "Solar power in small towns");
  g_assert_cmpstr (line, ==, "Quarterly report");
  g_assert_cmpstr (name, ==, "plan.final");
}

static void
test_extractive (void)
{
  g_autoptr(GPtrArray) sentences = aic_summary_split_sentences (document);
  g_autoptr(GPtrArray) picked = aic_summary_pick_sentences (sentences, 3);
  g_autoptr(GPtrArray) again = aic_summary_pick_sentences (sentences, 3);
  g_autoptr(AicSummary) summary = aic_summary_combine (sentences, "T");
  guint last = 0;

  /* Deterministic, in document order, and the sentences about the topic
   * ("solar", "panels", "towns") win. */
  g_assert_cmpuint (picked->len, ==, 3);
  for (guint i = 0; i < picked->len; i++)
    {
      guint index;

      g_assert_cmpstr (g_ptr_array_index (picked, i), ==, g_ptr_array_index (again, i));
      g_assert_true (g_ptr_array_find_with_equal_func (sentences, g_ptr_array_index (picked, i), g_str_equal, &index));
      g_assert_cmpuint (index, >=, last);
      last = index;
    }
  g_assert_cmpstr (g_ptr_array_index (picked, 0), ==, g_ptr_array_index (sentences, 0));

  g_assert_cmpstr (summary->title, ==, "T");
  g_assert_true (g_str_has_prefix (summary->summary, "Solar panels have become cheap"));
  g_assert_cmpuint (g_strv_length (summary->key_points), ==, 3);
  for (guint i = 0; summary->key_points[i] != NULL; i++)
    g_assert_null (strstr (summary->summary, summary->key_points[i]));
}

static void
test_parse_reply (void)
{
  g_autoptr(AicSummary) structured =
    aic_summary_parse_reply ("**TITLE:** Solar towns\n\nSUMMARY: Towns use solar.\nIt saves money.\n\n"
                             "Key points:\n- Cheaper power\n* Storage at night\n• Co-ops\n", "fallback");
  g_autoptr(AicSummary) loose = aic_summary_parse_reply ("Just a paragraph of text.", "fallback");

  g_assert_cmpstr (structured->title, ==, "Solar towns");
  g_assert_cmpstr (structured->summary, ==, "Towns use solar. It saves money.");
  g_assert_cmpuint (g_strv_length (structured->key_points), ==, 3);
  g_assert_cmpstr (structured->key_points[0], ==, "Cheaper power");
  g_assert_cmpstr (structured->key_points[2], ==, "Co-ops");

  g_assert_cmpstr (loose->title, ==, "fallback");
  g_assert_cmpstr (loose->summary, ==, "Just a paragraph of text.");
  g_assert_cmpuint (g_strv_length (loose->key_points), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/summary/sentences", test_sentences);
  g_test_add_func ("/summary/parts", test_parts);
  g_test_add_func ("/summary/title", test_title);
  g_test_add_func ("/summary/extractive", test_extractive);
  g_test_add_func ("/summary/parse-reply", test_parse_reply);

  return g_test_run ();
}
