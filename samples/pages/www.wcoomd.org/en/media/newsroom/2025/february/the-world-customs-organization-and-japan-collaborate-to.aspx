<!DOCTYPE html>
<!-- Reproduces a WCO newsroom article page, English interface: header with the language switcher and navigation, breadcrumb, title, date line, article text with a photo, share bar and footer; hreflang alternates for its French and Spanish versions. Text written for the sample; the item is listed on samples/wco-home-en.html. -->
<html lang="en">
<head>
<meta charset="utf-8">
<title>The World Customs Organization and Japan collaborate to establish WCO Security Project for Central Asia and Caucasus to combat illicit trafficking</title>
<meta property="og:type" content="article">
<link rel="canonical" href="https://www.wcoomd.org/en/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">
<link rel="alternate" hreflang="en" href="https://www.wcoomd.org/en/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">
<link rel="alternate" hreflang="fr" href="https://www.wcoomd.org/fr/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">
<link rel="alternate" hreflang="es" href="https://www.wcoomd.org/es/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">
</head>
<body>
<div class="header"><ul class="language-switcher"><li><a href="/en/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">english : english</a></li><li><a href="/fr/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">french : français</a></li><li><a href="/es/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">spanish : español</a></li></ul>
<div class="meta-navigation"><a href="/en/sitemap.aspx">sitemap</a> | <a href="/en/faq.aspx">faq</a> | <a href="/en/search.aspx">search</a></div></div>
<div class="main-navigation"><ul><li><a href="/en/about-us.aspx">About us</a></li><li><a href="/en/topics.aspx">Topics</a></li><li><a href="/en/media.aspx">Media</a></li><li><a href="/en/members.aspx">Members</a></li></ul></div>
<div class="breadcrumb"><a href="/en.aspx">Home</a> &gt; <a href="/en/media.aspx">Media</a> &gt; <a href="/en/media/newsroom.aspx">Newsroom</a> &gt; <a href="/en/media/newsroom/2025.aspx">2025</a></div>
<div id="content" class="content">
<h1>The World Customs Organization and Japan collaborate to establish WCO Security Project for Central Asia and Caucasus to combat illicit trafficking</h1>
<p class="date">13 February 2025</p>
<div class="text">
<p>On 12 February 2025, the World Customs Organization (WCO) and the Government of Japan launched a new Security Project for Central Asia and the Caucasus, aimed at strengthening the capacity of Customs administrations in the region to detect and seize illicit shipments of weapons, explosives and their precursors.</p>
<p><img src="/-/media/wco/public/global/images/media/newsroom/2025/february/security-project-launch.jpg" alt="Launch of the WCO Security Project for Central Asia and Caucasus"></p>
<p>The three-year project will deliver training in risk management, targeting and <a href="/en/topics/enforcement-and-compliance/activities-and-programmes/security-programme.aspx">the WCO Security Programme</a>'s tools, and will support regional operations coordinated through the Regional Intelligence Liaison Office for Europe.</p>
<p>"Borders in Central Asia and the Caucasus carry a growing share of trade between Asia and Europe," said the Secretary General. "This project helps Customs keep that trade both fast and safe."</p>
</div>
<div class="share">Share: <a href="https://twitter.com/intent/tweet?url=https://www.wcoomd.org/en/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">X</a> <a href="https://www.linkedin.com/shareArticle?url=https://www.wcoomd.org/en/media/newsroom/2025/february/the-world-customs-organization-and-japan-collaborate-to.aspx">LinkedIn</a></div>
</div>
<div class="footer"><p>Copyright © 2025 World Customs Organization. All rights reserved.</p><a href="/en/terms-and-conditions.aspx">Terms and conditions</a> | <a href="/en/privacy.aspx">Privacy</a></div>
</body>
</html>
