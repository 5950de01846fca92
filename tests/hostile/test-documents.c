/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <libsoup/soup.h>
#include <string.h>

#include "aic-test-pdf.h"
#include "hostile-util.h"

/* Documents small on the wire that become too much: a PDF of many pages,
 * one of much text, a text that makes many parts. Each job fails with
 * "too_large" and a sentence that says which limit; then a small document
 * is summarized as usual. The limits are lowered so that the bombs stay
 * small and quick. */

static const char * const args[] = { "--max-document-pages=50", "--max-document-text=60000",
                                     "--max-document-parts=2", NULL };

/* @pages pages, each with @lines lines of the same sentence (60 bytes
 * of text a line). */
static GBytes *
make_pdf (guint pages,
          guint lines)
{
  cairo_t *cr = aic_test_pdf_new ();

  cairo_set_font_size (cr, 8);
  for (guint p = 0; p < pages; p++)
    {
      for (guint l = 0; l < lines; l++)
        {
          cairo_move_to (cr, 20, 20 + l * 10);
          cairo_show_text (cr, "The turbine blades were inspected again and again for cracks.");
        }
      cairo_show_page (cr);
    }
  return aic_test_pdf_end (cr);
}

static char *
submit (SoupSession      *session,
        AicHostileServer *server,
        GBytes           *document,
        const char       *filename,
        const char       *type)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/analyze/start", server->port);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", server->token);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", url);
  g_autoptr(SoupMultipart) multipart = soup_multipart_new (SOUP_FORM_MIME_TYPE_MULTIPART);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;
  const char *id_start;

  soup_multipart_append_form_file (multipart, "file", filename, type, document);
  soup_multipart_to_message (multipart, soup_message_get_request_headers (message), &body);
  soup_message_set_request_body_from_bytes (message, NULL, body);
  soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
  answer = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 202);
  id_start = strstr (g_bytes_get_data (answer, NULL), "\"job_id\":\"");
  g_assert_nonnull (id_start);
  id_start += strlen ("\"job_id\":\"");
  return g_strndup (id_start, strcspn (id_start, "\""));
}

/* Polls the job until it has ended; returns its last answer. */
static char *
wait_ended (SoupSession      *session,
            AicHostileServer *server,
            const char       *id)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u/api/analyze/%s", server->port, id);
  g_autofree char *bearer = g_strdup_printf ("Bearer %s", server->token);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(SoupMessage) message = soup_message_new ("GET", url);
      g_autoptr(GBytes) answer = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      soup_message_headers_replace (soup_message_get_request_headers (message), "Authorization", bearer);
      answer = soup_session_send_and_read (session, message, NULL, &error);
      g_assert_no_error (error);
      text = g_strndup (g_bytes_get_data (answer, NULL), g_bytes_get_size (answer));
      if (strstr (text, "\"status\":\"failed\"") || strstr (text, "\"status\":\"done\""))
        return g_steal_pointer (&text);
      g_usleep (100000);
    }
  g_assert_not_reached ();
}

static void
assert_fails (SoupSession      *session,
              AicHostileServer *server,
              GBytes           *document,
              const char       *filename,
              const char       *type,
              const char       *words)
{
  g_autofree char *id = submit (session, server, document, filename, type);
  g_autofree char *answer = wait_ended (session, server, id);

  g_test_message ("%s: %s", filename, answer);
  g_assert_nonnull (strstr (answer, "\"status\":\"failed\""));
  g_assert_nonnull (strstr (answer, "\"too_large\""));
  g_assert_nonnull (strstr (answer, words));
}

static void
test_bombs (void)
{
  g_autoptr(AicHostileServer) server = aic_hostile_server_start (args, 0);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(GBytes) many_pages = make_pdf (60, 1);
  g_autoptr(GBytes) much_text = make_pdf (30, 40);
  g_autoptr(GString) parts = g_string_new (NULL);
  g_autoptr(GBytes) many_parts = NULL;
  g_autoptr(GBytes) small = NULL;
  g_autofree char *id = NULL;
  g_autofree char *answer = NULL;

  g_test_message ("PDFs of %" G_GSIZE_FORMAT " and %" G_GSIZE_FORMAT " bytes",
                  g_bytes_get_size (many_pages), g_bytes_get_size (much_text));
  assert_fails (session, server, many_pages, "pages.pdf", "application/pdf", "60 pages");
  assert_fails (session, server, much_text, "text.pdf", "application/pdf", "of text");

  /* Under the text limit (40,000 bytes), but four parts of the default
   * part size (12,000 characters), against a limit of two. */
  while (parts->len < 40000)
    g_string_append (parts, "The turbine blades were inspected for cracks. ");
  many_parts = g_bytes_new (parts->str, parts->len);
  assert_fails (session, server, many_parts, "parts.txt", "text/plain", "summarizes at most 2");

  /* The well-behaved client afterwards. */
  small = make_pdf (1, 1);
  id = submit (session, server, small, "small.pdf", "application/pdf");
  answer = wait_ended (session, server, id);
  g_assert_nonnull (strstr (answer, "\"status\":\"done\""));
  aic_hostile_assert_healthy (server);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/documents/bombs", test_bombs);
  return g_test_run ();
}
