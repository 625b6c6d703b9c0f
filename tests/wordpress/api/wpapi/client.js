// What a WordPress client does, with node-wpapi against a live site: discover the API
// from the home page, list and paginate posts with _embed, filter by category, then with
// an application password create a post, upload an image, make it the featured image
// and read the post back. Prints one JSON object for the Python test to check.
'use strict';

const WPAPI = require('wpapi');

async function main() {
  const env = process.env;
  const site = await WPAPI.discover(env.SITE_URL);
  const firstPage = await site.posts().perPage(2).embed().get();
  const secondPage = await firstPage._paging.next.get();
  const inCategory = await site.posts().categories(Number(env.CATEGORY_ID)).get();

  site.auth({ username: env.WP_USERNAME, password: env.WP_APP_PASSWORD });
  const created = await site.posts().create({
    title: 'Written by node-wpapi',
    content: '<p>Posted with an <em>application password</em>.</p>',
    status: 'publish',
    categories: [Number(env.CATEGORY_ID)],
  });
  const media = await site.media().file(env.IMAGE_PATH).create({ title: 'Upload from wpapi', alt_text: 'A test image' });
  await site.posts().id(created.id).update({ featured_media: media.id });
  const readBack = await site.posts().id(created.id).embed().get();

  console.log(JSON.stringify({
    endpoint: site._options.endpoint,
    firstPage: firstPage.map((p) => ({ id: p.id, author: p._embedded && p._embedded.author[0].name })),
    paging: { total: firstPage._paging.total, totalPages: firstPage._paging.totalPages },
    secondPage: secondPage.map((p) => p.id),
    inCategory: inCategory.map((p) => p.id),
    created: { id: created.id, status: created.status },
    media: { id: media.id, source_url: media.source_url },
    readBack: {
      featured_media: readBack.featured_media,
      embedded_source_url: readBack._embedded['wp:featuredmedia'][0].source_url,
      title: readBack.title.rendered,
    },
  }));
}

main().catch((err) => {
  console.error(err && (err.stack || JSON.stringify(err)));
  process.exit(1);
});
